using System.Net;
using System.Text;
using Stress;
using Stress.Client.Operations;

namespace KestrelEpollTransport.Reliability.Tests.Infrastructure;

/// <summary>One checked <c>GET /hello</c> exchange: the answer must name this connection and exchange.</summary>
internal static class Hello
{
    private static int _connectionNumber;

    /// <summary>Opens a connection with a fresh nonce (of run 1, so misrouted answers are recognised).</summary>
    public static Task<StressConnection> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken, int? receiveBufferSize = null, int bufferSize = 64 * 1024) =>
        StressConnection.ConnectAsync(endPoint, StressPayload.MakeNonce(1, (uint)Interlocked.Increment(ref _connectionNumber)), cancellationToken, receiveBufferSize, bufferSize);

    /// <summary>Sends /hello on <paramref name="connection"/> and checks the answer (throws <see cref="StressFailureException"/> if wrong).</summary>
    public static async Task ExchangeAsync(StressConnection connection, CancellationToken cancellationToken)
    {
        uint sequence = connection.NextSequence();
        await connection.SendAsync(Requests.Hello(connection.Nonce, sequence), cancellationToken);
        await ReadAsync(connection, sequence, cancellationToken);
    }

    /// <summary>Reads and checks the answer to /hello number <paramref name="sequence"/>.</summary>
    public static async Task ReadAsync(StressConnection connection, uint sequence, CancellationToken cancellationToken)
    {
        var head = await connection.ReadHeadAsync(cancellationToken);
        Requests.ExpectOk(head, "/hello");
        var body = new MemoryStream();
        await connection.ReadBodyAsync(head, span => body.Write(span), cancellationToken);
        Requests.CheckHello(Encoding.ASCII.GetString(body.ToArray()), connection.Nonce, sequence);
    }
}
