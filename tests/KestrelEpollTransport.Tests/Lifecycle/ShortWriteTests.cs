using System.Net.Sockets;
using KestrelEpollTransport.Internal;
using KestrelEpollTransport.Interop;
using KestrelEpollTransport.Tests.Infrastructure;
using KestrelEpollTransport.Tests.Lifecycle;
using Microsoft.AspNetCore.Connections;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Lifecycle;

/// <summary>
/// "A short write waits for the next EPOLLOUT edge": with a tiny send buffer and a peer that reads slowly in
/// small pieces (many short writes), over TCP and a Unix socket, every byte still arrives (no write waits for an edge
/// that never comes).
/// </summary>
public sealed class ShortWriteTests(ITestOutputHelper output)
{
    private const int Total = 4 * 1024 * 1024;

    /// <summary>With 4 KiB socket buffers the transfer is paced by delayed ACKs (~50 KB/s, old and new code alike).</summary>
    private const int TinyTotal = 256 * 1024;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TinySendBuffer_SlowSmallReads_EverythingArrives(bool inline)
    {
        var loop = LoopConnections.StartLoop(handOffWhenBusy: !inline);
        try
        {
            await using var connections = new LoopConnections(loop, new EpollTransportOptions { UnsafePreferInlineScheduling = inline });
            var (server, client) = await connections.ConnectAsync(fd => Sock.SetOption(fd, Sock.SOL_SOCKET, 7 /* SO_SNDBUF */, 4096));
            client.ReceiveBufferSize = 4096;
            var writer = Task.Run(async () =>
            {
                var piece = new byte[100_000];
                for (int sent = 0; sent < TinyTotal; sent += piece.Length)
                {
                    await server.Transport.Output.WriteAsync(piece.AsMemory(0, Math.Min(piece.Length, TinyTotal - sent)));
                }
                await server.Transport.Output.CompleteAsync();
            });
            long received = await ReadSlowlyAsync(client);
            await writer.WithTimeout();
            output.WriteLine($"inline {inline}: {received} bytes");
            Assert.Equal(TinyTotal, received);
        }
        finally
        {
            loop.Stop();
        }
    }

    [Fact]
    public async Task UnixSocket_SlowSmallReads_EverythingArrives()
    {
        string path = Path.Combine(Path.GetTempPath(), $"review-{Guid.NewGuid():N}.sock");
        await using var host = await TestHost.StartAsync(TransportKind.Epoll, _ => { }, output, o =>
            o.ConfigureKestrel = kestrel => kestrel.ListenUnixSocket(path, listen => listen.Run(async connection =>
            {
                var piece = new byte[100_000];
                for (int sent = 0; sent < Total; sent += piece.Length)
                {
                    await connection.Transport.Output.WriteAsync(piece.AsMemory(0, Math.Min(piece.Length, Total - sent)));
                }
            })));
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        client.ReceiveBufferSize = 4096;
        await client.ConnectAsync(new UnixDomainSocketEndPoint(path)).WithTimeout();
        Assert.Equal(Total, await ReadSlowlyAsync(client));
    }

    private static async Task<long> ReadSlowlyAsync(Socket client)
    {
        var buffer = new byte[1500];
        long received = 0;
        int reads = 0;
        while (true)
        {
            int n;
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            {
                try
                {
                    n = await client.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                }
                catch (OperationCanceledException)
                {
                    var ss = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("ss", $"-tnmi state established ( sport = :{((System.Net.IPEndPoint)client.LocalEndPoint!).Port} or dport = :{((System.Net.IPEndPoint)client.LocalEndPoint!).Port} )") { RedirectStandardOutput = true })!;
                    string state = await ss.StandardOutput.ReadToEndAsync();
                    throw new TimeoutException($"no byte for 5 s after {received} bytes ({reads} reads)\n{state}");
                }
            }
            if (n == 0)
            {
                return received;
            }
            received += n;
            if (++reads % 64 == 0)
            {
                await Task.Delay(1);
            }
        }
    }
}
