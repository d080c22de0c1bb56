using System.Net.Http;
using System.Net.Sockets;
using System.Security.Cryptography;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Conformance;

/// <summary>Large bodies in both directions, checked by SHA-256, and memory under a slow reader.</summary>
public abstract class LargeBodyTests(TransportKind transport, ITestOutputHelper output)
{
    private const long UploadSize = 16L * 1024 * 1024;
    private const long DownloadSize = 64L * 1024 * 1024;

    [Fact]
    public async Task Upload_16MiBEchoedBack_Sha256Matches()
    {
        await using var host = await TestHost.StartAsync(transport, TestApp.MapStandardRoutes, output);
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);

        // Send and receive at once: the server echoes as it reads, so a client that sent everything first would
        // deadlock against the server's backpressure once both directions' buffers are full.
        var send = Task.Run(async () =>
        {
            await connection.SendAsync($"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: {UploadSize}\r\n\r\n");
            var chunk = new byte[256 * 1024];
            for (long offset = 0; offset < UploadSize; offset += chunk.Length)
            {
                int take = (int)Math.Min(chunk.Length, UploadSize - offset);
                Payload.Fill(chunk.AsSpan(0, take), offset);
                await connection.SendAsync(chunk.AsMemory(0, take));
            }
        });
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var receive = Task.Run(async () =>
        {
            var (status, headers) = await connection.ReadHeadAsync();
            Assert.Equal(200, status);
            return await connection.ReadBodyAsync(headers, hash.AppendData);
        });
        await send.WithTimeout(Timeouts.Bulk);
        long received = await receive.WithTimeout(Timeouts.Bulk);

        Assert.Equal(UploadSize, received);
        Assert.Equal(Payload.Sha256(UploadSize), hash.GetHashAndReset());
    }

    [Fact]
    public async Task Download_64MiBStreamed_Sha256Matches()
    {
        await using var host = await TestHost.StartAsync(transport, TestApp.MapStandardRoutes, output);
        using var client = new HttpClient { BaseAddress = host.Address, Timeout = Timeouts.Bulk };

        using var response = await client.GetAsync($"/download/{DownloadSize}", HttpCompletionOption.ResponseHeadersRead).WithTimeout();
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(DownloadSize, response.Content.Headers.ContentLength);
        await using var body = await response.Content.ReadAsStreamAsync().WithTimeout();
        byte[] sha = await SHA256.HashDataAsync(body).AsTask().WithTimeout(Timeouts.Bulk);

        Assert.Equal(Payload.Sha256(DownloadSize), sha);
    }

    [Fact]
    public async Task SlowReader_64MiBResponse_ServerMemoryBoundedByMaxWriteBufferSize()
    {
        const long MaxWriteBufferSize = 64 * 1024;
        await using var host = await TestHost.StartAsync(transport, TestApp.MapStandardRoutes, output,
            o => o.MaxWriteBufferSize = MaxWriteBufferSize);
        // A small receive buffer, so the kernel holds little and the server meets backpressure early.
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint, s => s.ReceiveBufferSize = 16 * 1024);
        host.MemoryPool.ResetHighWater();

        await connection.SendAsync(RawHttpConnection.Get($"/download/{DownloadSize}"));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var read = Task.Run(async () =>
        {
            var (status, headers) = await connection.ReadHeadAsync();
            Assert.Equal(200, status);
            long total = 0;
            long nextPause = 0;
            return await connection.ReadBodyAsync(headers, chunk =>
            {
                hash.AppendData(chunk);
                total += chunk.Length;
                if (total >= nextPause)
                {
                    // Pacing, not synchronisation: a reader that stops for 1 ms per 256 KiB reads at most
                    // ~256 MB/s, slower than a server filling memory, so the server spends the transfer waiting
                    // on backpressure. Nothing waits for this pause to line up with anything.
                    nextPause += 256 * 1024;
                    Thread.Sleep(1);
                }
            });
        });
        long received = await read.WithTimeout(Timeouts.Bulk);

        Assert.Equal(DownloadSize, received);
        Assert.Equal(Payload.Sha256(DownloadSize), hash.GetHashAndReset());
        // What the server may hold at once: the pipe up to MaxWriteBufferSize plus the one write that crossed it
        // (the handler writes ChunkSize at a time), plus Kestrel's and the transport's small change: the request's
        // receive block and the response head, 16 blocks (64 KiB) at most. Socket buffers are the kernel's, not
        // the pool's. Everything else would be the response piling up: 64 MiB.
        long bound = MaxWriteBufferSize + TestApp.ChunkSize + 16 * LeakTrackingMemoryPoolFactory.BlockSize;
        output.WriteLine($"{transport}: pool high-water {host.MemoryPool.HighWaterBytes} B, bound {bound} B; {host.MemoryPool.Describe()}");
        Assert.True(host.MemoryPool.Rented > 0, "The transport took its memory from the DI pool: " + host.MemoryPool.Describe());
        Assert.True(host.MemoryPool.HighWaterBytes <= bound,
            $"The server held {host.MemoryPool.HighWaterBytes} B of pool memory at once, over the bound of {bound} B: {host.MemoryPool.Describe()}");
    }
}

/// <summary><see cref="LargeBodyTests"/> on the epoll transport.</summary>
public sealed class EpollLargeBodyTests(ITestOutputHelper output) : LargeBodyTests(TransportKind.Epoll, output);

/// <summary><see cref="LargeBodyTests"/> on Kestrel's Sockets transport.</summary>
public sealed class SocketsLargeBodyTests(ITestOutputHelper output) : LargeBodyTests(TransportKind.Sockets, output);
