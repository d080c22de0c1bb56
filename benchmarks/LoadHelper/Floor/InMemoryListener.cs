using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;

namespace TransportBench.Floor;

/// <summary>Kestrel's accept loop fed from a queue the floor's client fills: no listen socket, no accept syscall.</summary>
internal sealed class InMemoryListener(EndPoint endPoint) : IConnectionListener
{
    private readonly Channel<ConnectionContext> _accepted = Channel.CreateUnbounded<ConnectionContext>();

    public EndPoint EndPoint { get; } = endPoint;

    /// <summary>Hands a connection to Kestrel.</summary>
    public void Add(ConnectionContext connection) => _accepted.Writer.TryWrite(connection);

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            while (await _accepted.Reader.WaitToReadAsync(cancellationToken))
            {
                if (_accepted.Reader.TryRead(out ConnectionContext? connection))
                {
                    return connection;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Kestrel cancels to stop accepting; null is the contract's "unbound".
        }
        return null;
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _accepted.Writer.TryComplete();
        return default;
    }

    public ValueTask DisposeAsync() => UnbindAsync();
}
