namespace KestrelEpollTransport.Internal;

/// <summary>Something registered with an <see cref="EpollEventLoop"/>: a connection or a listener.</summary>
/// <remarks>
/// Every callback runs as the loop: on the loop thread, or on the thread-pool thread polling for it while it is busy
/// (<see cref="LoopExecutor"/>), never on two threads at once. <see cref="EpollEventLoop.IsLoopThread"/> is true there.
/// </remarks>
internal interface IEpollHandler
{
    /// <summary>
    /// The <c>epoll_data</c> this registration was made with: generation in the high 32 bits, table slot in the low.
    /// Set once before the fd is added to epoll and never changed, so the loop can tell a stale event (one for an
    /// earlier registration of the same slot) from a live one.
    /// </summary>
    ulong EpollToken { get; }

    /// <summary>Handles the events epoll reported for this registration. Runs as the loop.</summary>
    /// <param name="events">The <c>EPOLL*</c> flags.</param>
    void OnEvents(uint events);

    /// <summary>
    /// Called as the loop when <see cref="OnEvents"/> threw: the handler closes itself (its connection only),
    /// the loop goes on.
    /// </summary>
    /// <param name="exception">What escaped.</param>
    void OnFault(Exception exception);

    /// <summary>Called on the loop thread, its last pass over, when the loop stops with this still registered: release the fd now.</summary>
    void OnLoopStopping();
}
