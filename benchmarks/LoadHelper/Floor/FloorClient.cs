namespace TransportBench.Floor;

/// <summary>Drives Kestrel through <see cref="InMemoryConnection"/>s as wrk drives a server (docs/benchmarks.md, "The
/// floor"): a batch of requests per connection, every response read, again. Everything here runs on the client
/// thread (the pipes schedule the client's continuations there).</summary>
internal sealed class FloorClient(Scenario scenario, ClientThreadScheduler scheduler, InMemoryListener listener, MemoryPool<byte> pool)
{
    private readonly byte[] _batch = CreateBatch(scenario, close: false);
    private readonly byte[] _closingBatch = CreateBatch(scenario, close: true);
    // Written by the client thread only; read by the measuring thread.
    private long _completed;
    private long _non200;
    // Set by the measuring thread, read by the client thread between batches.
    private volatile bool _stopping;
    private Task? _all;
    public long Completed => Volatile.Read(ref _completed);
    public long Non200 => Volatile.Read(ref _non200);

    /// <summary>Starts the scenario's connection slots on the client thread.</summary>
    public void Start()
    {
        var started = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
        scheduler.Schedule(_ => started.SetResult(Task.WhenAll(Enumerable.Range(0, scenario.Connections).Select(RunSlotAsync))), null);
        _all = started.Task.Unwrap();
    }

    /// <summary>Ends every connection after its current batch; bounded, as every wait in the runner.</summary>
    public Task StopAsync(TimeSpan limit)
    {
        _stopping = true;
        return _all?.WaitAsync(limit) ?? Task.CompletedTask;
    }

    /// <summary>One connection at a time in this slot: a new one whenever the previous one was closed by design.</summary>
    private async Task RunSlotAsync(int slot)
    {
        for (int serial = 0; !_stopping; serial++)
        {
            var connection = new InMemoryConnection($"floor-{slot}-{serial}", pool, scheduler);
            listener.Add(connection);
            if (!await RunConnectionAsync(connection))
            {
                return;
            }
        }
    }

    /// <summary>Batches on one connection; true when it ended because its requests were done (go on with a new one).</summary>
    private async Task<bool> RunConnectionAsync(InMemoryConnection connection)
    {
        var counter = new ResponseCounter();
        PipeWriter writer = connection.ClientWriter;
        PipeReader reader = connection.ClientReader;
        int sent = 0;
        try
        {
            while (!_stopping && !connection.IsAborted)
            {
                sent += scenario.PipelineDepth;
                bool last = scenario.RequestsPerConnection > 0 && sent >= scenario.RequestsPerConnection;
                writer.Write(last ? _closingBatch : _batch);
                if ((await writer.FlushAsync()).IsCompleted)
                {
                    return false;
                }
                int outstanding = scenario.PipelineDepth;
                while (outstanding > 0)
                {
                    ReadResult read = await reader.ReadAsync();
                    ReadOnlySequence<byte> buffer = read.Buffer;
                    int responses = counter.Consume(ref buffer);
                    reader.AdvanceTo(buffer.Start, read.Buffer.End);
                    outstanding -= responses;
                    Volatile.Write(ref _completed, _completed + responses);
                    if (outstanding > 0 && (read.IsCompleted || read.IsCanceled))
                    {
                        return false;
                    }
                }
                if (last)
                {
                    // Kestrel ends the connection after this response; the drain below sees it end.
                    return true;
                }
            }
            return false;
        }
        finally
        {
            Volatile.Write(ref _non200, _non200 + counter.Non200);
            // End of input: Kestrel ends the connection and completes its output, which ends the drain below.
            await writer.CompleteAsync();
            while (!connection.IsAborted)
            {
                ReadResult rest = await reader.ReadAsync();
                reader.AdvanceTo(rest.Buffer.End);
                if (rest.IsCompleted || rest.IsCanceled)
                {
                    break;
                }
            }
            await reader.CompleteAsync();
        }
    }

    /// <summary>The bytes wrk sends for one batch, Host as wrk writes it; <c>Connection: close</c> on a connection's last.</summary>
    private static byte[] CreateBatch(Scenario scenario, bool close)
    {
        string request = (scenario.BodyBytes > 0 ? "POST " : "GET ") + scenario.Path + " HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
            + (scenario.BodyBytes > 0 ? $"Content-Type: application/octet-stream\r\nContent-Length: {scenario.BodyBytes}\r\n" : "")
            + (close ? "Connection: close\r\n" : "") + "\r\n" + new string('a', scenario.BodyBytes);
        return Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(request, scenario.PipelineDepth)));
    }
}
