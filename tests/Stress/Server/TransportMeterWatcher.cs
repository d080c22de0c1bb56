using System.Diagnostics.Metrics;

namespace Stress.Server;

/// <summary>
/// Listens to the epoll transport's meter (<c>KestrelEpollTransport</c>) in this process and keeps its counters, so
/// <c>/stats</c> can report accept errors and connections the way <c>dotnet-counters</c> would see them.
/// </summary>
internal sealed class TransportMeterWatcher : IDisposable
{
    private const string MeterName = "KestrelEpollTransport";

    private readonly MeterListener _listener = new();
    private long _accepted;
    private long _active;
    private long _acceptErrors;

    public TransportMeterWatcher()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == MeterName && instrument.Name is "epoll.connections.accepted" or "epoll.connections.active" or "epoll.accept.errors")
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

    /// <summary>epoll.accept.errors so far (EMFILE and friends).</summary>
    public long AcceptErrors => Interlocked.Read(ref _acceptErrors);

    public void Dispose() => _listener.Dispose();
}
