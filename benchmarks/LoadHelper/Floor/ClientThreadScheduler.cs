namespace TransportBench.Floor;

/// <summary>A <see cref="PipeScheduler"/> that runs everything posted to it on one dedicated thread, the floor's client,
/// whose CPU time /proc then gives apart from Kestrel's. Posting wakes the thread only when it sleeps.</summary>
internal sealed class ClientThreadScheduler : PipeScheduler, IDisposable
{
    // Guards _pending, _sleeping and _stopping.
    private readonly Lock _gate = new();
    // Work posted and not yet taken. Swapped with the thread's private batch, so posting never allocates.
    private Queue<(Action<object?> Action, object? State)> _pending = new();
    // The thread waits in Monitor.Wait on _signal; true while it does, so a post knows a pulse is needed.
    private bool _sleeping;
    private bool _stopping;
    private readonly object _signal = new();
    private readonly Thread _thread;
    private readonly TaskCompletionSource<int> _nativeThreadId = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Exception? _failure;

    public ClientThreadScheduler()
    {
        _thread = new Thread(Run) { Name = "Floor client", IsBackground = true };
        _thread.Start();
    }

    /// <summary>The thread's kernel id (for /proc/self/task/TID/stat), known once it runs.</summary>
    public Task<int> NativeThreadId => _nativeThreadId.Task;
    /// <summary>The first exception a work item threw, if any (the client then stops; the floor reports it).</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    public override void Schedule(Action<object?> action, object? state)
    {
        bool wake;
        lock (_gate)
        {
            _pending.Enqueue((action, state));
            wake = _sleeping;
            _sleeping = false;
        }
        if (wake)
        {
            lock (_signal)
            {
                Monitor.Pulse(_signal);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
        }
        lock (_signal)
        {
            Monitor.Pulse(_signal);
        }
        _thread.Join(TimeSpan.FromSeconds(5));
    }

    private void Run()
    {
        // "/proc/thread-self" links to "<pid>/task/<tid>".
        string link = new FileInfo("/proc/thread-self").LinkTarget ?? "";
        _nativeThreadId.SetResult(int.Parse(link[(link.LastIndexOf('/') + 1)..], System.Globalization.CultureInfo.InvariantCulture));

        var batch = new Queue<(Action<object?> Action, object? State)>();
        while (true)
        {
            lock (_signal)
            {
                lock (_gate)
                {
                    if (_pending.Count == 0)
                    {
                        if (_stopping)
                        {
                            return;
                        }
                        _sleeping = true;
                    }
                    else
                    {
                        (_pending, batch) = (batch, _pending);
                    }
                }
                if (batch.Count == 0)
                {
                    // A post between releasing _gate and this wait pulses _signal, which we still hold: it waits
                    // for the wait to start, so no wake-up is lost.
                    Monitor.Wait(_signal);
                    continue;
                }
            }
            while (batch.TryDequeue(out var item))
            {
                try
                {
                    item.Action(item.State);
                }
#pragma warning disable CA1031 // Kept, not thrown: it would kill the process before the floor reports why.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    Interlocked.CompareExchange(ref _failure, e, null);
                }
            }
        }
    }
}
