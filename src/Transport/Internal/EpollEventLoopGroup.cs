using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace KestrelEpollTransport.Internal;

/// <summary>
/// The transport's event loops: starts them, hands each new connection the next one round-robin, stops them all.
/// Shared by every listener of one <see cref="EpollTransportFactory"/>.
/// </summary>
internal sealed class EpollEventLoopGroup : IDisposable
{
    private readonly EpollEventLoop[] _loops;

    /// <summary>Round-robin cursor; incremented by whichever thread accepts.</summary>
    private uint _next;

    public EpollEventLoopGroup(EpollTransportOptions options, IMemoryPoolFactory<byte> memoryPoolFactory, ILoggerFactory loggerFactory, EpollTransportMetrics metrics)
    {
        Options = options;
        LoggerFactory = loggerFactory;
        Metrics = metrics;
        var logger = loggerFactory.CreateLogger("KestrelEpollTransport.EventLoop");
        _loops = new EpollEventLoop[options.ThreadCount];
        try
        {
            for (int i = 0; i < _loops.Length; i++)
            {
                // One pool per loop: a loop's connections rent and return blocks mostly on that loop's thread.
                var pool = memoryPoolFactory.Create(new MemoryPoolOptions { Owner = "KestrelEpollTransport" });
                // With inline scheduling the application runs inside the loop's events: there is nothing to hand off.
                _loops[i] = new EpollEventLoop(i, pool, logger, Metrics, handOffWhenBusy: !options.UnsafePreferInlineScheduling);
            }
        }
        catch
        {
            foreach (var loop in _loops)
            {
                loop?.Stop();
                loop?.MemoryPool.Dispose();
            }
            throw;
        }
        foreach (var loop in _loops)
        {
            loop.Start();
        }
    }

    public EpollTransportOptions Options { get; }

    public ILoggerFactory LoggerFactory { get; }

    public EpollTransportMetrics Metrics { get; }

    public IReadOnlyList<EpollEventLoop> Loops => _loops;

    /// <summary>The loop for the next connection.</summary>
    public EpollEventLoop Next() => _loops[(int)(Interlocked.Increment(ref _next) % (uint)_loops.Length)];

    /// <summary>Stops every loop (connections still registered are reset and closed) and waits for their threads.</summary>
    public void Dispose()
    {
        foreach (var loop in _loops)
        {
            loop.Stop();
            loop.MemoryPool.Dispose();
        }
    }

    /// <summary>Registrations over all loops (connections and listeners).</summary>
    public int RegistrationCount => _loops.Sum(static loop => loop.RegistrationCount);
}
