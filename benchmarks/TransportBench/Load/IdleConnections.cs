namespace TransportBench.Load;

/// <summary>Server memory held by idle keep-alive connections (docs/benchmarks.md, "RSS per idle connection").</summary>
internal sealed record IdleResult(int Target, int Opened, long RssBeforeKib, long RssAfterKib, string? Note)
{
    public double BytesPerConnection => Opened > 0 ? (RssAfterKib - RssBeforeKib) * 1024.0 / Opened : 0;
}

/// <summary>Opens many keep-alive connections from the runner itself (raw sockets, in batches), one request each, then
/// leaves them idle and reads the server's RSS. Closing sends RST (linger 0): no TIME_WAIT left to eat ephemeral ports.</summary>
internal static class IdleConnections
{
    private const int BatchSize = 500;
    // fds the runner and the server keep for themselves (listeners, pipes, perf, the runtime).
    private const int FdHeadroom = 256;
    private static readonly byte[] Request = "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"u8.ToArray();

    public static async Task<IdleResult> MeasureAsync(ServerProcess server, int target, CancellationToken cancellationToken)
    {
        // The runtime raised the runner's soft limit to its hard one at start, as it does in every .NET process.
        (string soft, string hard) = ProcStats.OpenFilesLimits(Environment.ProcessId) ?? ("unlimited", "unlimited");
        int count = Math.Min(target, (int)Math.Min(ulong.TryParse(soft, out ulong most) ? most : ulong.MaxValue, int.MaxValue) - FdHeadroom);
        string? note = count < target ? $"capped at {count}: the runner's open-files limit is {soft} (hard {hard}); raise `ulimit -Hn` for more" : null;

        var sockets = new List<Socket>(count);
        try
        {
            // Warm the accept path and the first-connection allocations, which are not per-connection cost.
            await OpenBatchAsync(server.Port, 64, sockets, cancellationToken);
            CloseAll(sockets);
            await Task.Delay(500, cancellationToken);
            long before = ProcStats.RssKib(server.Pid);

            while (sockets.Count < count)
            {
                try
                {
                    await OpenBatchAsync(server.Port, Math.Min(BatchSize, count - sockets.Count), sockets, cancellationToken);
                }
                catch (SocketException e)
                {
                    note = $"stopped at {sockets.Count} of {target}: {e.SocketErrorCode} ({e.Message}); server open files: "
                        + (ProcStats.OpenFilesLimits(server.Pid) is { } l ? $"soft {l.Soft}, hard {l.Hard}" : "unknown");
                    break;
                }
            }
            // Let the server finish whatever follows a response (pool returns, timers) before reading RSS.
            await Task.Delay(1000, cancellationToken);
            long after = ProcStats.RssKib(server.Pid);
            return new IdleResult(target, sockets.Count, before, after, note);
        }
        finally
        {
            CloseAll(sockets);
        }
    }

    private static async Task OpenBatchAsync(int port, int size, List<Socket> into, CancellationToken cancellationToken)
    {
        Socket[] batch = [.. Enumerable.Range(0, size).Select(_ => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true })];
        try
        {
            await Task.WhenAll(batch.Select(s => RoundTripAsync(s, port, cancellationToken)));
        }
        catch
        {
            Array.ForEach(batch, socket => socket.Dispose());
            throw;
        }
        into.AddRange(batch);
    }

    /// <summary>Connects, sends one request and reads its whole response, bounded at 10 s.</summary>
    private static async Task RoundTripAsync(Socket socket, int port, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), limit.Token);
        await socket.SendAsync(Request, SocketFlags.None, limit.Token);
        var buffer = new byte[1024];
        int received = 0;
        while (!ResponseCounter.HoldsResponse(buffer.AsMemory(0, received), out _))
        {
            int read = await socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, limit.Token);
            received += read > 0 ? read : throw new SocketException((int)SocketError.ConnectionReset);
        }
    }

    private static void CloseAll(List<Socket> sockets)
    {
        foreach (Socket socket in sockets)
        {
            socket.LingerState = new LingerOption(true, 0);
            socket.Dispose();
        }
        sockets.Clear();
    }
}
