using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace TransportBench.Floor;

/// <summary>A Kestrel connection made of two in-process pipes, set up as the Sockets transport sets up its own (same
/// pool and back-pressure limits, the app reading on the thread pool); the floor's client is its other end.</summary>
internal sealed class InMemoryConnection : ConnectionContext, IConnectionIdFeature, IConnectionTransportFeature,
    IConnectionItemsFeature, IMemoryPoolFeature, IConnectionEndPointFeature
{
    private const int MaxReadBufferSize = 1024 * 1024;
    private const int MaxWriteBufferSize = 64 * 1024;
    private static readonly IPEndPoint Local = new(IPAddress.Loopback, 1);
    private static readonly IPEndPoint Remote = new(IPAddress.Loopback, 2);
    private readonly CancellationTokenSource _closed = new();
    private readonly FeatureCollection _features = new();
    // Set once by Abort from any thread, read by the client thread.
    private volatile bool _aborted;

    public InMemoryConnection(string id, MemoryPool<byte> pool, PipeScheduler clientScheduler)
    {
        ConnectionId = id;
        MemoryPool = pool;
        int segment = pool.MaxBufferSize is > 0 and < 4096 ? pool.MaxBufferSize : 4096;
        var input = new Pipe(new PipeOptions(pool, PipeScheduler.ThreadPool, clientScheduler,
            MaxReadBufferSize, MaxReadBufferSize / 2, segment, useSynchronizationContext: false));
        var output = new Pipe(new PipeOptions(pool, clientScheduler, PipeScheduler.ThreadPool,
            MaxWriteBufferSize, MaxWriteBufferSize / 2, segment, useSynchronizationContext: false));
        Transport = new DuplexPipe(input.Reader, output.Writer);
        ClientWriter = input.Writer;
        ClientReader = output.Reader;
        ConnectionClosed = _closed.Token;
        _features.Set<IConnectionIdFeature>(this);
        _features.Set<IConnectionTransportFeature>(this);
        _features.Set<IConnectionItemsFeature>(this);
        _features.Set<IMemoryPoolFeature>(this);
        _features.Set<IConnectionEndPointFeature>(this);
    }

    public override string ConnectionId { get; set; }
    public override IFeatureCollection Features => _features;
    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();
    public override IDuplexPipe Transport { get; set; }
    public MemoryPool<byte> MemoryPool { get; }
    public override EndPoint? LocalEndPoint { get; set; } = Local;
    public override EndPoint? RemoteEndPoint { get; set; } = Remote;
    /// <summary>The client's end of the request pipe.</summary>
    public PipeWriter ClientWriter { get; }
    /// <summary>The client's end of the response pipe.</summary>
    public PipeReader ClientReader { get; }
    public bool IsAborted => _aborted;

    /// <summary>Kestrel aborts (a timeout, a protocol error): wake the client, which then ends the connection.</summary>
    public override void Abort(ConnectionAbortedException abortReason)
    {
        _aborted = true;
        ClientReader.CancelPendingRead();
        ThreadPool.UnsafeQueueUserWorkItem(static c => c.Cancel(), _closed, preferLocal: false);
    }

    public override ValueTask DisposeAsync()
    {
        Transport.Input.Complete();
        Transport.Output.Complete();
        // ConnectionClosed fires once, off the caller's thread, as transports do.
        ThreadPool.UnsafeQueueUserWorkItem(static c => c.Cancel(), _closed, preferLocal: false);
        return base.DisposeAsync();
    }

    private sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
