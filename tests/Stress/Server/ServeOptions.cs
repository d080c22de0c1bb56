namespace Stress.Server;

/// <summary>Options of <c>Stress serve</c>.</summary>
internal sealed class ServeOptions
{
    /// <summary>Port on 127.0.0.1; 0 picks a free one (printed at start).</summary>
    public int Port { get; init; }

    /// <summary>
    /// <c>127.0.0.1</c> (default: one listener) or <c>localhost</c> (127.0.0.1 and [::1]: two listeners; needs a
    /// <see cref="Port"/> other than 0, as Kestrel does).
    /// </summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>Runs an <see cref="FdCanary"/> (its counts in /stats).</summary>
    public bool FdCanary { get; init; }

    /// <summary><c>epoll</c> (default) or <c>sockets</c>.</summary>
    public string Transport { get; init; } = "epoll";

    /// <summary>Epoll loops; 0 keeps the transport's default.</summary>
    public int Threads { get; init; }

    /// <summary>How long a graceful stop (SIGTERM) waits for requests in flight.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>When above 0, RLIMIT_NOFILE (soft and hard) is lowered to it at start, as <c>prlimit --nofile=N:N</c>.</summary>
    public int MaxOpenFiles { get; init; }

    /// <summary>
    /// Whether to start the runtime's timer thread at start-up (a Task.Delay), as nearly every real app does early
    /// (any Timer or Task.Delay starts it). 0 leaves it to whoever needs it first: the fd-exhaustion test's way to
    /// show what happens when that first user runs out of fds (starting a thread takes an fd on Linux).
    /// </summary>
    public bool StartTimerThread { get; init; } = true;
}
