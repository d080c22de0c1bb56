namespace TransportBench.Fairness;

/// <summary>The fairness scenario's two clients (docs/benchmarks.md, "Fairness"): a flood connection streams one endless
/// POST body while a small connection times one tiny round trip at a time.</summary>
/// <remarks>Threading: each client has a thread of its own with blocking sockets (no thread pool between a response and
/// its timestamp); <see cref="Run"/> waits for both, bounded.</remarks>
internal sealed class FairnessClient(int port, string floodPath)
{
    /// <summary>The flood's body: never completes (1 TiB would take hours at loopback speed).</summary>
    private const long FloodContentLength = 1L << 40;
    private const int FloodBlockBytes = 64 * 1024;
    /// <summary>The small connection's endpoint: 13 bytes, the tiniest response SampleWeb has.</summary>
    private const string SmallPath = "/plaintext";
    /// <summary>A small round trip taking longer than this ends the small client: the server starved it.</summary>
    private static readonly TimeSpan SmallTimeout = TimeSpan.FromSeconds(10);

    // Bytes the flood thread has handed to the kernel. Written by the flood thread, read by Run (Interlocked).
    private long _floodBytes;
    // Set by Run to end the flood; its socket is then disposed, which also ends a blocked send.
    private volatile bool _stopping;
    // Set by the small thread when a response did not come within SmallTimeout; read by Run after joining it.
    private bool _starved;

    /// <summary>Floods and times small round trips for <paramref name="duration"/>; everything bounded.</summary>
    public FairnessResult Run(TimeSpan duration)
    {
        using Socket flood = Connect();
        string? floodError = null;
        var floodThread = new Thread(() => floodError = Flood(flood)) { Name = "Fairness flood", IsBackground = true };
        floodThread.Start();
        // The flood first, up to speed (a few MiB through), so every small round trip meets it.
        var ramp = Stopwatch.StartNew();
        while (Interlocked.Read(ref _floodBytes) < 4 * FloodBlockBytes && ramp.Elapsed < TimeSpan.FromSeconds(2) && floodThread.IsAlive)
        {
            Thread.Sleep(10);
        }

        long flood0 = Interlocked.Read(ref _floodBytes);
        var window = Stopwatch.StartNew();
        var latencies = new List<long>(1 << 16);
        string? smallError = null;
        var smallThread = new Thread(() => smallError = RoundTrips(duration, latencies)) { Name = "Fairness small", IsBackground = true };
        smallThread.Start();
        bool smallEnded = smallThread.Join(duration + SmallTimeout + TimeSpan.FromSeconds(5));
        long floodBytes = Interlocked.Read(ref _floodBytes) - flood0;
        double seconds = window.Elapsed.TotalSeconds;

        _stopping = true;
        // RST, not FIN: the body never ends, and no TIME_WAIT is left behind.
        flood.LingerState = new LingerOption(true, 0);
        flood.Dispose();
        floodThread.Join(TimeSpan.FromSeconds(5));

        if (!smallEnded || latencies.Count == 0)
        {
            // A small client still running is still writing its list: nothing from it. A starved one added its limit.
            return new FairnessResult(0, seconds, 0, 0, 0, 0, floodBytes, false,
                smallEnded ? smallError ?? floodError ?? "no small round trip completed" : "the small client did not end in time");
        }
        latencies.Sort();
        return new FairnessResult(latencies.Count, seconds, Percentiles.NearestRank(latencies, 0.50), Percentiles.NearestRank(latencies, 0.99),
            Percentiles.NearestRank(latencies, 0.999), latencies[^1], floodBytes, _starved, smallError ?? floodError);
    }

    /// <summary>The flood thread: headers, then 64 KiB blocks until stopped. Returns why it ended early, or null.</summary>
    private string? Flood(Socket socket)
    {
        var block = new byte[FloodBlockBytes];
        block.AsSpan().Fill((byte)'a');
        try
        {
            socket.Send(Encoding.ASCII.GetBytes(
                $"POST {floodPath} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/octet-stream\r\nContent-Length: {FloodContentLength}\r\n\r\n"));
            while (!_stopping)
            {
                int sent = socket.Send(block);
                Interlocked.Add(ref _floodBytes, sent);
            }
            return null;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return _stopping ? null : $"the flood connection failed: {e.Message}";
        }
    }

    /// <summary>The small thread: one request, its whole response, the next, until the time is up.</summary>
    private string? RoundTrips(TimeSpan duration, List<long> latencies)
    {
        byte[] request = Encoding.ASCII.GetBytes($"GET {SmallPath} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
        var buffer = new byte[4096];
        try
        {
            using Socket socket = Connect();
            socket.ReceiveTimeout = (int)SmallTimeout.TotalMilliseconds;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < duration)
            {
                long start = Stopwatch.GetTimestamp();
                socket.Send(request);
                if (!ReadResponse(socket, buffer))
                {
                    return "the small connection got a response that was not 200 OK";
                }
                latencies.Add((long)Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            }
            return null;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut)
        {
            latencies.Add((long)SmallTimeout.TotalMicroseconds);
            _starved = true;
            return null;
        }
        catch (SocketException e)
        {
            return $"the small connection failed: {e.Message}";
        }
    }

    /// <summary>Reads one response; true when its status was 200.</summary>
    private static bool ReadResponse(Socket socket, byte[] buffer)
    {
        int received = 0;
        bool ok;
        while (!ResponseCounter.HoldsResponse(buffer.AsMemory(0, received), out ok))
        {
            int read = socket.Receive(buffer.AsSpan(received));
            received += read > 0 ? read : throw new SocketException((int)SocketError.ConnectionReset);
        }
        return ok;
    }

    private Socket Connect()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        return socket;
    }
}
