namespace Stress.Client.Operations;

/// <summary>Unusual but legal clients, each on a connection of its own: one that half-closes, one that reads slowly.</summary>
internal static class PeerBehaviours
{
    /// <summary>
    /// A GET or a small echo, then FIN. Kestrel does not serve half-closed HTTP/1.1 connections: a client FIN aborts
    /// the connection (<c>Abort(null)</c>, which sends FIN), racing the response. So the response may be whole (then
    /// the server's FIN follows), cut, or missing; what does arrive must be this exchange's, byte for byte.
    /// </summary>
    public static async Task HalfCloseAsync(WorkerContext context, CancellationToken cancellationToken)
    {
        // Outside the catch: a refused connect is not a cut response.
        using var connection = await context.OpenAsync(cancellationToken);
        try
        {
            await HalfCloseExchangeAsync(context, connection, cancellationToken);
        }
        catch (Exception e) when (e is NoResponseException or StressFailureException { Kind: FailureKind.Truncated })
        {
            context.Stats.HalfCloseCut();
        }
    }

    private static async Task HalfCloseExchangeAsync(WorkerContext context, StressConnection connection, CancellationToken cancellationToken)
    {
        uint sequence = connection.NextSequence();
        if (context.Random.Next(2) == 0)
        {
            await connection.SendAsync(Requests.Hello(connection.Nonce, sequence), cancellationToken);
            connection.ShutdownSend();
            await KeepAliveExchanges.ReadHelloAsync(context, connection, sequence, cancellationToken);
        }
        else
        {
            long size = context.Random.Next(0, 64 * 1024 + 1);
            await connection.SendAsync(Requests.Post("/echo", size), cancellationToken);
            await BodyExchanges.SendPayloadAsync(context, connection, sequence, size, size, null, cancellationToken);
            connection.ShutdownSend();
            await KeepAliveExchanges.ReadDownloadAsync(context, connection, sequence, size, cancellationToken);
        }
        long extra = await connection.ReadToEndAsync(null, cancellationToken);
        if (extra != 0)
        {
            throw new StressFailureException(FailureKind.Corrupted, $"{extra} bytes arrived after the response to a half-closed connection.");
        }
    }

    /// <summary>A download of up to 512 KiB through a 4 KiB receive buffer, 0.5–4 KiB per receive, 1 ms apart.</summary>
    public static async Task SlowReaderAsync(WorkerContext context, CancellationToken cancellationToken)
    {
        using var connection = await context.OpenAsync(cancellationToken, receiveBufferSize: 4096);
        uint sequence = connection.NextSequence();
        long size = Math.Min(context.Options.MaxBodySize, context.Random.Next(64 * 1024, 512 * 1024 + 1));
        await connection.SendAsync(Requests.Download(connection.Nonce, sequence, size), cancellationToken);
        connection.ReceiveChunk = context.Random.Next(512, 4097);
        connection.ReceiveDelay = TimeSpan.FromMilliseconds(1);
        await KeepAliveExchanges.ReadDownloadAsync(context, connection, sequence, size, cancellationToken);
    }
}
