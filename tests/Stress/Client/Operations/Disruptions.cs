namespace Stress.Client.Operations;

/// <summary>
/// Exchanges the client cuts on purpose, each on a connection of its own: a reset part-way through an upload or a
/// download, and connections that leave without a request. What arrived before the cut is still checked.
/// </summary>
internal static class Disruptions
{
    public static async Task AbortUploadAsync(WorkerContext context, CancellationToken cancellationToken)
    {
        var connection = await context.OpenAsync(cancellationToken);
        uint sequence = connection.NextSequence();
        long size = Math.Max(1, context.RandomSize());
        long cut = context.Random.NextInt64(size);
        await connection.SendAsync(Requests.Post("/echo", size), cancellationToken);
        var verifier = new PayloadVerifier(connection.Nonce, sequence, size);
        var read = ReadEchoAsync(connection, verifier, cancellationToken);
        try
        {
            await BodyExchanges.SendPayloadAsync(context, connection, sequence, size, cut, null, cancellationToken);
        }
        finally
        {
            connection.Reset();
        }
        try
        {
            await read;
        }
        catch (StressFailureException e) when (e.Kind is not (FailureKind.Corrupted or FailureKind.Misrouted))
        {
            // Cut by our own reset, as intended.
        }
        catch (Exception e) when (e is not StressFailureException)
        {
            // Cut by our own reset (the socket is gone under the receive), as intended.
        }
        context.Stats.AddReceived(verifier.Offset);
    }

    public static async Task AbortDownloadAsync(WorkerContext context, CancellationToken cancellationToken)
    {
        var connection = await context.OpenAsync(cancellationToken);
        try
        {
            uint sequence = connection.NextSequence();
            long size = Math.Max(64 * 1024, context.RandomSize());
            long cut = context.Random.NextInt64(size);
            await connection.SendAsync(Requests.Download(connection.Nonce, sequence, size), cancellationToken);
            var head = await connection.ReadHeadAsync(cancellationToken);
            Requests.ExpectOk(head, "/download");
            var verifier = new PayloadVerifier(connection.Nonce, sequence, size);
            await connection.ReadExactAsync(cut, verifier.Feed, cancellationToken);
            context.Stats.AddReceived(cut);
        }
        finally
        {
            connection.Reset();
        }
    }

    /// <summary>Connect, then FIN or RST, sometimes after half a request line.</summary>
    public static async Task ConnectCloseAsync(WorkerContext context, CancellationToken cancellationToken)
    {
        var connection = await context.OpenAsync(cancellationToken);
        int variant = context.Random.Next(4);
        try
        {
            if (variant >= 2)
            {
                await connection.SendAsync("GET /hel", cancellationToken);
            }
        }
        finally
        {
            if (variant % 2 == 0)
            {
                connection.Dispose();
            }
            else
            {
                connection.Reset();
            }
        }
    }

    private static async Task ReadEchoAsync(StressConnection connection, PayloadVerifier verifier, CancellationToken cancellationToken)
    {
        var head = await connection.ReadHeadAsync(cancellationToken);
        Requests.ExpectOk(head, "/echo");
        await connection.ReadBodyAsync(head, verifier.Feed, cancellationToken);
    }
}
