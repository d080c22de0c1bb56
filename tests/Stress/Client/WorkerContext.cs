using System.Net;

namespace Stress.Client;

/// <summary>
/// What one worker's exchanges share: the server, the worker's random source, its keep-alive connection, the run's
/// counters and nonce source. One exchange at a time, so nothing here is shared between threads but the counters.
/// </summary>
internal sealed class WorkerContext(IPEndPoint endPoint, StressRunOptions options, StressStats stats, Random random, Func<ulong> newNonce)
{
    /// <summary>The chance that a keep-alive exchange opens a new connection anyway (churn among the ordinary ones).</summary>
    private const double RenewChance = 0.1;

    private StressConnection? _keepAlive;

    /// <summary>The server said <c>Connection: close</c>: the keep-alive connection is dropped before its next use.</summary>
    private bool _keepAliveClosing;

    public IPEndPoint EndPoint { get; } = endPoint;

    public StressRunOptions Options { get; } = options;

    public StressStats Stats { get; } = stats;

    public Random Random { get; } = random;

    /// <summary>Opens a new connection with a new nonce.</summary>
    public async Task<StressConnection> OpenAsync(CancellationToken cancellationToken, int? receiveBufferSize = null)
    {
        var connection = await StressConnection.ConnectAsync(EndPoint, newNonce(), cancellationToken, receiveBufferSize);
        Stats.ConnectionOpened();
        return connection;
    }

    /// <summary>The worker's keep-alive connection: the last one, or a new one (none yet, dropped, or by chance).</summary>
    public async Task<StressConnection> KeepAliveAsync(CancellationToken cancellationToken)
    {
        if (_keepAlive is not null && (_keepAliveClosing || Random.NextDouble() < RenewChance))
        {
            DropKeepAlive();
        }
        return _keepAlive ??= await OpenAsync(cancellationToken);
    }

    /// <summary>Closes the keep-alive connection (after a failure).</summary>
    public void DropKeepAlive()
    {
        _keepAlive?.Dispose();
        _keepAlive = null;
        _keepAliveClosing = false;
    }

    /// <summary>
    /// The server said <c>Connection: close</c>: the keep-alive connection is dropped before its next exchange, not
    /// now (a pipelined burst may still be reading from it; the responses the server will not send then fail it).
    /// </summary>
    public void KeepAliveClosing() => _keepAliveClosing = true;

    /// <summary>
    /// A body size from 0 to <see cref="StressRunOptions.MaxBodySize"/>: a third up to 4 KiB, a third up to 256 KiB,
    /// a fifth up to 2 MiB, the rest up to the maximum.
    /// </summary>
    public long RandomSize()
    {
        long max = Options.MaxBodySize;
        double draw = Random.NextDouble();
        long upTo = draw < 0.35 ? 4096 : draw < 0.7 ? 256 * 1024 : draw < 0.92 ? 2 * 1024 * 1024 : max;
        return Random.NextInt64(Math.Min(upTo, max) + 1);
    }
}
