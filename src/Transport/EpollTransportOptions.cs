namespace KestrelEpollTransport;

/// <summary>
/// Options for the epoll transport. Set them with
/// <see cref="Microsoft.AspNetCore.Hosting.WebHostBuilderEpollExtensions.UseEpollTransport(Microsoft.AspNetCore.Hosting.IWebHostBuilder, System.Action{EpollTransportOptions})"/>.
/// They are validated once, when the host starts; an invalid value fails the start with a message naming the option.
/// </summary>
public sealed class EpollTransportOptions
{
    /// <summary>The largest <see cref="ThreadCount"/> accepted.</summary>
    public const int MaxThreadCount = 256;

    /// <summary>
    /// The number of event loops: each is one thread with its own epoll instance, and accepted connections are
    /// spread over them round-robin.
    /// </summary>
    /// <remarks>
    /// Defaults to <c>Math.Clamp(Environment.ProcessorCount / 2, 1, 16)</c>: one loop per two cores, at least one. A
    /// loop only reads and dispatches; Kestrel and the application run on the thread pool, and while a loop is busy the
    /// pool polls for it. Fewer loops than cores, as the runtime's own socket engine has, leave the cores to that work
    /// and batch more events per wait (docs/architecture.md, "Measurements behind constants").
    /// </remarks>
    public int ThreadCount { get; set; } = Math.Clamp(Environment.ProcessorCount / 2, 1, 16);

    /// <summary>The maximum length of the queue of pending connections (the <c>listen(2)</c> backlog).</summary>
    /// <remarks>Defaults to 512, as the Sockets transport.</remarks>
    public int Backlog { get; set; } = 512;

    /// <summary>Whether to set <c>TCP_NODELAY</c> on accepted TCP connections (turns Nagle's algorithm off).</summary>
    /// <remarks>Defaults to <see langword="true"/>.</remarks>
    public bool NoDelay { get; set; } = true;

    /// <summary>
    /// The most bytes the transport reads ahead of the application on one connection. Reading stops at this mark
    /// and resumes when the application has consumed half of it. <see langword="null"/> or 0 means unlimited.
    /// </summary>
    /// <remarks>Defaults to 1 MiB, as the Sockets transport.</remarks>
    public long? MaxReadBufferSize { get; set; } = 1024 * 1024;

    /// <summary>
    /// The most bytes the application may buffer for sending on one connection before its flush waits for the peer
    /// to read. <see langword="null"/> or 0 means unlimited.
    /// </summary>
    /// <remarks>Defaults to 64 KiB, as the Sockets transport.</remarks>
    public long? MaxWriteBufferSize { get; set; } = 64 * 1024;

    /// <summary>
    /// File descriptors the transport keeps free for the rest of the process: listeners stop calling accept4 while
    /// accepting one more connection would leave fewer than this many below the soft <c>RLIMIT_NOFILE</c> (pending
    /// connections wait in the backlog until connections close). <see langword="null"/> means the default.
    /// </summary>
    /// <remarks>
    /// Defaults to the larger of 32 and 5 % of the soft limit at the time. The runtime needs free fds to start threads
    /// (and aborts the process when it cannot); files, outgoing connections and logs need them too. With several
    /// listeners or hosts in one process, the largest headroom any of them asks for applies to all.
    /// </remarks>
    public int? FdHeadroom { get; set; }

    /// <summary>
    /// Runs application code (Kestrel's request processing) inline on the event loop thread instead of the thread pool.
    /// </summary>
    /// <remarks>
    /// Defaults to <see langword="false"/>. Unsafe: a handler that blocks (synchronous I/O, locks, long computations)
    /// stalls every connection on its loop. Saves a thread hop per request where handlers never block.
    /// </remarks>
    public bool UnsafePreferInlineScheduling { get; set; }
}
