using System.Text;

namespace Stress.Client.Operations;

/// <summary>Requests without a body on the worker's keep-alive connection: one GET, one download, a pipelined burst.</summary>
internal static class KeepAliveExchanges
{
    public static async Task GetAsync(WorkerContext context, CancellationToken cancellationToken)
    {
        var connection = await context.KeepAliveAsync(cancellationToken);
        uint sequence = connection.NextSequence();
        await connection.SendAsync(Requests.Hello(connection.Nonce, sequence), cancellationToken);
        await ReadHelloAsync(context, connection, sequence, cancellationToken);
    }

    public static async Task DownloadAsync(WorkerContext context, CancellationToken cancellationToken)
    {
        var connection = await context.KeepAliveAsync(cancellationToken);
        uint sequence = connection.NextSequence();
        long size = context.RandomSize();
        await connection.SendAsync(Requests.Download(connection.Nonce, sequence, size), cancellationToken);
        await ReadDownloadAsync(context, connection, sequence, size, cancellationToken);
    }

    /// <summary>2–16 requests in one write, every third a small download; responses must come in order.</summary>
    public static async Task PipelinedAsync(WorkerContext context, CancellationToken cancellationToken)
    {
        var connection = await context.KeepAliveAsync(cancellationToken);
        int count = context.Random.Next(2, 17);
        var requests = new StringBuilder();
        var plan = new List<(uint Sequence, long DownloadSize)>(count);
        for (int i = 0; i < count; i++)
        {
            uint sequence = connection.NextSequence();
            long size = i % 3 == 2 ? context.Random.Next(0, 8193) : -1;
            requests.Append(size < 0 ? Requests.Hello(connection.Nonce, sequence) : Requests.Download(connection.Nonce, sequence, size));
            plan.Add((sequence, size));
        }
        await connection.SendAsync(requests.ToString(), cancellationToken);
        foreach (var (sequence, size) in plan)
        {
            if (size < 0)
            {
                await ReadHelloAsync(context, connection, sequence, cancellationToken);
            }
            else
            {
                await ReadDownloadAsync(context, connection, sequence, size, cancellationToken);
            }
        }
    }

    /// <summary>Reads a /hello response and checks it is this exchange's.</summary>
    public static async Task ReadHelloAsync(WorkerContext context, StressConnection connection, uint sequence, CancellationToken cancellationToken)
    {
        var head = await connection.ReadHeadAsync(cancellationToken);
        Requests.ExpectOk(head, "/hello");
        var body = new MemoryStream();
        long length = await connection.ReadBodyAsync(head, span => body.Write(span), cancellationToken);
        context.Stats.AddReceived(length);
        Requests.CheckHello(Encoding.ASCII.GetString(body.GetBuffer(), 0, (int)body.Length), connection.Nonce, sequence);
        if (head.ConnectionClose)
        {
            context.KeepAliveClosing();
        }
    }

    /// <summary>Reads a /download response and checks every byte.</summary>
    public static async Task ReadDownloadAsync(WorkerContext context, StressConnection connection, uint sequence, long size, CancellationToken cancellationToken)
    {
        var head = await connection.ReadHeadAsync(cancellationToken);
        Requests.ExpectOk(head, "/download");
        if (head.ContentLength != size)
        {
            throw new StressFailureException(FailureKind.Protocol, $"/download of {size} bytes answered Content-Length {head.ContentLength}.");
        }
        var verifier = new PayloadVerifier(connection.Nonce, sequence, size);
        await connection.ReadBodyAsync(head, verifier.Feed, cancellationToken);
        context.Stats.AddReceived(size);
        verifier.AssertComplete();
        if (head.ConnectionClose)
        {
            context.KeepAliveClosing();
        }
    }
}
