using System.Threading.Channels;

namespace TransportBench.Floor;

/// <summary>Registered after Kestrel's own factory, so Kestrel binds its endpoint here (the last registered factory
/// wins) and no socket is ever opened.</summary>
internal sealed class InMemoryTransportFactory : IConnectionListenerFactory
{
    private readonly TaskCompletionSource<InMemoryListener> _bound = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>The listener, once Kestrel has bound its endpoint.</summary>
    public Task<InMemoryListener> Listener => _bound.Task;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var listener = new InMemoryListener(endpoint);
        return _bound.TrySetResult(listener) ? new(listener) : throw new InvalidOperationException("The floor serves one endpoint.");
    }
}

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
            return await _accepted.Reader.ReadAsync(cancellationToken);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            // Kestrel cancels, or unbinds, to stop accepting: null is the contract's "unbound".
            return null;
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _accepted.Writer.TryComplete();
        return default;
    }

    public ValueTask DisposeAsync() => UnbindAsync();
}
