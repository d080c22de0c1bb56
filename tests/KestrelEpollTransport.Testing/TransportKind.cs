namespace KestrelEpollTransport.Testing;

/// <summary>The transports every conformance test runs against, and a test host can run on.</summary>
public enum TransportKind
{
    /// <summary>This project's transport, registered with <c>UseEpollTransport()</c>.</summary>
    Epoll,

    /// <summary>Kestrel's own Sockets transport, the reference behaviour.</summary>
    Sockets,
}
