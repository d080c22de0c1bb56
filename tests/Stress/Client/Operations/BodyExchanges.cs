using System.Buffers;
using System.Security.Cryptography;

namespace Stress.Client.Operations;

/// <summary>Requests with a body on the worker's keep-alive connection: an echo read back while it is sent, an upload hashed by the server.</summary>
internal static class BodyExchanges
{
    /// <summary>Bytes per send.</summary>
    private const int SendChunk = 64 * 1024;

    public static async Task EchoAsync(WorkerContext context, CancellationToken cancellationToken)
    {
        var connection = await context.KeepAliveAsync(cancellationToken);
        uint sequence = connection.NextSequence();
        long size = context.RandomSize();
        await connection.SendAsync(Requests.Post("/echo", size), cancellationToken);
        // Read while sending: the server echoes as it reads, and neither side's buffers hold 8 MiB.
        var send = SendPayloadAsync(context, connection, sequence, size, size, null, cancellationToken);
        try
        {
            await KeepAliveExchanges.ReadDownloadAsync(context, connection, sequence, size, cancellationToken);
        }
        catch
        {
            context.DropKeepAlive(); // Ends the send too, if it still waits.
            await Observe(send);
            throw;
        }
        await send;
    }

    public static async Task UploadAsync(WorkerContext context, CancellationToken cancellationToken)
    {
        var connection = await context.KeepAliveAsync(cancellationToken);
        uint sequence = connection.NextSequence();
        long size = context.RandomSize();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await connection.SendAsync(Requests.Post("/upload", size), cancellationToken);
        await SendPayloadAsync(context, connection, sequence, size, size, hash, cancellationToken);
        string expected = Convert.ToHexStringLower(hash.GetHashAndReset());

        var head = await connection.ReadHeadAsync(cancellationToken);
        Requests.ExpectOk(head, "/upload");
        var body = new MemoryStream();
        await connection.ReadBodyAsync(head, span => body.Write(span), cancellationToken);
        string actual = System.Text.Encoding.ASCII.GetString(body.ToArray());
        if (actual != expected)
        {
            throw new StressFailureException(FailureKind.Corrupted,
                $"The server's SHA-256 of a {size}-byte upload (nonce {connection.Nonce:x16}, sequence {sequence}) is {actual}, not {expected}.");
        }
        if (head.ConnectionClose)
        {
            context.KeepAliveClosing();
        }
    }

    /// <summary>Sends the first <paramref name="count"/> bytes of the payload of (connection, sequence), adding them to <paramref name="hash"/>.</summary>
    public static async Task SendPayloadAsync(WorkerContext context, StressConnection connection, uint sequence, long size, long count, IncrementalHash? hash, CancellationToken cancellationToken)
    {
        byte[] chunk = ArrayPool<byte>.Shared.Rent(SendChunk);
        try
        {
            for (long offset = 0; offset < count;)
            {
                int take = (int)Math.Min(Math.Min(SendChunk, size - offset), count - offset);
                StressPayload.Fill(chunk.AsSpan(0, take), connection.Nonce, sequence, offset);
                hash?.AppendData(chunk, 0, take);
                await connection.SendAsync(chunk.AsMemory(0, take), cancellationToken);
                context.Stats.AddSent(take);
                offset += take;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    /// <summary>Waits for a task whose failure is only a consequence of one already being reported.</summary>
    public static async Task Observe(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The first failure is the one reported; this one follows from it (the connection was closed).
        }
    }
}
