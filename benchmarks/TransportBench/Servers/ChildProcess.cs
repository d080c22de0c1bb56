namespace TransportBench.Servers;

/// <summary>A child the runner keeps and talks to, pinned with taskset (which execs it: the pid is the child's); disposing kills it.</summary>
/// <remarks>Threads: lines are added by the process's output callbacks and read by the run, under <see cref="_lastLines"/>.</remarks>
internal abstract class ChildProcess : IDisposable
{
    private readonly Queue<string> _lastLines = new();
    private readonly int _keepLines;

    protected ChildProcess(
        string? cpus, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment, string? workingDirectory, int keepLines)
    {
        (string file, List<string> pinned) = CoreLayout.Pin(cpus, DotnetHost.Path, arguments);
        Process = ChildProcesses.Start(file, pinned, environment, workingDirectory, redirectInput: true);
        _keepLines = keepLines;
    }

    public bool HasExited => Process.HasExited;
    public int Pid => Process.Id;
    protected Process Process { get; }

    /// <summary>The child's last output lines.</summary>
    public string OutputTail()
    {
        lock (_lastLines)
        {
            return string.Join('\n', _lastLines);
        }
    }

    public virtual void Dispose()
    {
        ChildProcesses.Kill(Process);
        Process.Dispose();
    }

    protected void Remember(string? line)
    {
        lock (_lastLines)
        {
            if (line is not null)
            {
                _lastLines.Enqueue(line);
            }
            if (_lastLines.Count > _keepLines)
            {
                _lastLines.Dequeue();
            }
        }
    }
}
