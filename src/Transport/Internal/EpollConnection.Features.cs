using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using KestrelEpollTransport.Interop;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace KestrelEpollTransport.Internal;

// The features Kestrel and middleware ask of a transport connection. The connection implements them itself.
internal sealed partial class EpollConnection : IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature,
    IMemoryPoolFeature, IConnectionLifetimeFeature, IConnectionEndPointFeature
{
    private string? _connectionId;
    private IDictionary<object, object?>? _items;
    private EndPoint? _localEndPoint;
    private EpollConnectionFeatures _features = null!;

    public override string ConnectionId
    {
        // Generated once even when the loop (a log line) and Kestrel ask at the same moment: both must name one id.
        get => Volatile.Read(ref _connectionId) ?? Interlocked.CompareExchange(ref _connectionId, ConnectionIdGenerator.Next(), null) ?? _connectionId;
        set => _connectionId = value;
    }

    public override IFeatureCollection Features => _features;

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new ConnectionItems();
        set => _items = value;
    }

    public override IDuplexPipe Transport { get; set; }

    public MemoryPool<byte> MemoryPool => _loop.MemoryPool;

    /// <summary>For a wildcard listener, read with getsockname on first use; otherwise the listener's address.</summary>
    public override EndPoint? LocalEndPoint
    {
        get => _localEndPoint ??= ReadLocalEndPoint();
        set => _localEndPoint = value;
    }

    public override EndPoint? RemoteEndPoint { get; set; }

    private IPEndPoint? ReadLocalEndPoint()
    {
        var addr = default(SockAddr);
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
            return Sock.GetSockName(_fd, ref addr) == 0 ? addr.ToIPEndPoint() : null;
        }
        catch (ObjectDisposedException)
        {
            return null; // Closed already: there is no local end point to report.
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    private void InitializeFeatures() => _features = new EpollConnectionFeatures(this);
}
