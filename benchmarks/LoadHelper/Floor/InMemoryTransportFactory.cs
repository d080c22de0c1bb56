using System.Net;
using Microsoft.AspNetCore.Connections;

namespace TransportBench.Floor;

/// <summary>
/// Registered after Kestrel's own factory, so Kestrel binds its endpoint here (the last registered factory wins)
/// and no socket is ever opened.
/// </summary>
internal sealed class InMemoryTransportFactory : IConnectionListenerFactory
{
    private readonly TaskCompletionSource<InMemoryListener> _bound = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The listener, once Kestrel has bound its endpoint.</summary>
    public Task<InMemoryListener> Listener => _bound.Task;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var listener = new InMemoryListener(endpoint);
        if (!_bound.TrySetResult(listener))
        {
            throw new InvalidOperationException("The floor serves one endpoint.");
        }
        return new ValueTask<IConnectionListener>(listener);
    }
}
