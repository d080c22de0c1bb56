namespace TransportBench.Servers;

/// <summary>The last lines a child process wrote, for error messages.</summary>
/// <remarks>Threads: added to by the process's output callbacks, read by the run; guarded by <see cref="_lines"/>.</remarks>
internal sealed class LastLines(int capacity)
{
    private readonly Queue<string> _lines = new();

    public void Add(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_lines)
        {
            _lines.Enqueue(line);
            if (_lines.Count > capacity)
            {
                _lines.Dequeue();
            }
        }
    }

    public override string ToString()
    {
        lock (_lines)
        {
            return string.Join('\n', _lines);
        }
    }
}
