using System.Diagnostics.Metrics;

namespace Stress.Server;

/// <summary>
/// Listens to the epoll transport's meter (<c>KestrelEpollTransport</c>) and Kestrel's active-connection count in this
/// process and keeps the counters, so <c>/stats</c> can report accept errors and connections the way
/// <c>dotnet-counters</c> would see them (Kestrel's count serves either transport).
/// </summary>
internal sealed class TransportMeterWatcher : IDisposable
{
    private const string MeterName = "KestrelEpollTransport";
    private const string KestrelMeterName = "Microsoft.AspNetCore.Server.Kestrel";
    private const string KestrelActiveConnections = "kestrel.active_connections";

    private readonly MeterListener _listener = new();
    private long _accepted;
    private long _active;
    private long _acceptErrors;
    private long _acceptDeferred;
    private long _kestrelActive;

    public TransportMeterWatcher()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if ((instrument.Meter.Name == MeterName && instrument.Name is "epoll.connections.accepted" or "epoll.connections.active" or "epoll.accept.errors" or "epoll.accept.deferred") ||
                (instrument.Meter.Name == KestrelMeterName && instrument.Name == KestrelActiveConnections))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            switch (instrument.Name)
            {
                case "epoll.connections.accepted":
                    Interlocked.Add(ref _accepted, value);
                    break;
                case "epoll.connections.active":
                    Interlocked.Add(ref _active, value);
                    break;
                case "epoll.accept.deferred":
                    Interlocked.Add(ref _acceptDeferred, value);
                    break;
                case KestrelActiveConnections:
                    Interlocked.Add(ref _kestrelActive, value);
                    break;
                default:
                    Interlocked.Add(ref _acceptErrors, value);
                    break;
            }
        });
        _listener.Start();
    }

    /// <summary>epoll.connections.accepted so far.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>epoll.connections.active now.</summary>
    public long Active => Interlocked.Read(ref _active);

    /// <summary>epoll.accept.deferred so far: times a listener stopped at the transport's fd budget.</summary>
    public long AcceptDeferred => Interlocked.Read(ref _acceptDeferred);

    /// <summary>Kestrel's kestrel.active_connections now (any transport).</summary>
    public long KestrelActive => Interlocked.Read(ref _kestrelActive);

    /// <summary>epoll.accept.errors so far (EMFILE and friends).</summary>
    public long AcceptErrors => Interlocked.Read(ref _acceptErrors);

    public void Dispose() => _listener.Dispose();
}
