namespace KestrelEpollTransport.Tests.Lifecycle;

/// <summary>
/// Keeps the thread pool's global queue non-empty for a bounded time: <paramref name="chains"/> work items that each
/// spin a little and queue themselves again (global queue, FIFO), as a busy server's loops queue Kestrel's work.
/// </summary>
internal sealed class PoolLoad : IDisposable
{
    private readonly DateTime _until;
    private volatile bool _stopped;
    private readonly TimeSpan _spin;

    public PoolLoad(int chains, TimeSpan duration, TimeSpan spin)
    {
        _until = DateTime.UtcNow + duration;
        _spin = spin;
        for (int i = 0; i < chains; i++)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static s => ((PoolLoad)s!).Step(), this, preferLocal: false);
        }
    }

    /// <summary>When the load stops by itself.</summary>
    public DateTime Until => _until;

    private void Step()
    {
        if (_stopped || DateTime.UtcNow > _until)
        {
            return;
        }
        var end = DateTime.UtcNow + _spin;
        while (DateTime.UtcNow < end)
        {
            Thread.SpinWait(20);
        }
        ThreadPool.UnsafeQueueUserWorkItem(static s => ((PoolLoad)s!).Step(), this, preferLocal: false);
    }

    public void Dispose() => _stopped = true;
}
