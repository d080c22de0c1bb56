namespace KestrelEpollTransport.Reliability.Tests.Infrastructure;

/// <summary>The transports a test host can run on.</summary>
public enum TransportKind
{
    /// <summary>This project's epoll transport.</summary>
    Epoll,

    /// <summary>Kestrel's default Sockets transport, the reference behaviour.</summary>
    Sockets,
}
