using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace TransportBench.Floor;

/// <summary>
/// Drives Kestrel through <see cref="InMemoryConnection"/>s as wrk drives a server: keep-alive connections, each
/// writing a batch (1 request, or 16 when pipelining), reading until every response of the batch arrived, and again.
/// Everything here runs on the client thread (the pipes schedule the client's continuations there).
/// </summary>
internal sealed class FloorClient(Scenario scenario, ClientThreadScheduler scheduler, InMemoryListener listener, MemoryPool<byte> pool)
{
    private readonly byte[] _batch = CreateBatch(scenario);

    // Written by the client thread only; read by the measuring thread.
    private long _completed;

    private long _non200;

    // Set by the measuring thread, read by the client thread between batches.
    private volatile bool _stopping;

    private Task? _all;

    public long Completed => Volatile.Read(ref _completed);

    public long Non200 => Volatile.Read(ref _non200);

    /// <summary>Opens the scenario's connections on the client thread and starts their loops.</summary>
    public void Start()
    {
        var started = new TaskCompletionSource<Task>(TaskCreationOptions.RunContinuationsAsynchronously);
        scheduler.Schedule(_ =>
        {
            var loops = new Task[scenario.Connections];
            for (int i = 0; i < loops.Length; i++)
            {
                var connection = new InMemoryConnection($"floor-{i}", pool, scheduler);
                listener.Add(connection);
                loops[i] = RunAsync(connection);
            }
            started.SetResult(Task.WhenAll(loops));
        }, null);
        _all = started.Task.Unwrap();
    }

    /// <summary>Ends every connection after its current batch; bounded, as every wait in the runner.</summary>
    public async Task StopAsync(TimeSpan limit)
    {
        _stopping = true;
        if (_all is not null)
        {
            await _all.WaitAsync(limit);
        }
    }

    private async Task RunAsync(InMemoryConnection connection)
    {
        var counter = new ResponseCounter();
        PipeWriter writer = connection.ClientWriter;
        PipeReader reader = connection.ClientReader;
        try
        {
            while (!_stopping && !connection.IsAborted)
            {
                writer.Write(_batch);
                FlushResult flushed = await writer.FlushAsync();
                if (flushed.IsCompleted)
                {
                    return;
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
                    if (read.IsCompleted || read.IsCanceled)
                    {
                        return;
                    }
                }
            }
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

    /// <summary>The bytes wrk sends: one request per pipelined slot, with Host as wrk writes it.</summary>
    private static byte[] CreateBatch(Scenario scenario)
    {
        string request = $"GET {scenario.Path} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
        return Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(request, scenario.PipelineDepth)));
    }
}
