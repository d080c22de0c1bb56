using System.Net.Sockets;
using System.Security.Cryptography;
using KestrelEpollTransport.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Conformance;

/// <summary>How connections end: client half-close, client reset, server abort.</summary>
public abstract class ConnectionEndTests(TransportKind transport, ITestOutputHelper output)
{
    /// <remarks>
    /// Kestrel's HTTP/1.1 layer, not the transport, decides this: Sockets fires <c>ConnectionClosed</c> as soon as
    /// the peer's FIN ends the receive side, and Kestrel takes that as "the client has gone" and aborts the request
    /// in flight; the response is cut off and the connection ends with a FIN. (A short response written before the
    /// FIN is processed still gets through, so the handler here waits to make the race one-sided.) That the
    /// transport itself keeps sending after a peer FIN is checked below HTTP, in
    /// <see cref="ConnectionTests.Connection_PeerHalfClose_InputCompletesCleanlyAndOutputStillWorks"/>.
    /// </remarks>
    [Fact]
    public async Task HalfClose_ClientShutsDownSendAfterRequest_RequestAbortedAndConnectionEndsWithFin()
    {
        var requestAborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handlerEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await TestHost.StartAsync(transport, app => app.MapGet("/wait", (RequestDelegate)(async context =>
        {
            try
            {
                using var registration = context.RequestAborted.Register(requestAborted.SetResult);
                await requestAborted.Task.WithTimeout();
                await context.Response.WriteAsync("written after the abort");
            }
            finally
            {
                handlerEnded.SetResult();
            }
        })), output);
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);

        await connection.SendAsync(RawHttpConnection.Get("/wait"));
        connection.Socket.Shutdown(SocketShutdown.Send);
        await requestAborted.Task.WithTimeout();
        await handlerEnded.Task.WithTimeout();
        long received = await connection.ReadToEndAsync();

        Assert.Equal(0, received);
    }

    [Fact]
    public async Task HalfClose_ClientShutsDownSendAfterFullResponse_ServerClosesWithFin()
    {
        const long Size = 4L * 1024 * 1024;
        await using var host = await TestHost.StartAsync(transport, TestApp.MapStandardRoutes, output);
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);

        await connection.SendAsync(RawHttpConnection.Get($"/download/{Size}"));
        var (status, headers) = await connection.ReadHeadAsync();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long received = await connection.ReadBodyAsync(headers, hash.AppendData);
        connection.Socket.Shutdown(SocketShutdown.Send);
        long after = await connection.ReadToEndAsync();

        Assert.Equal(200, status);
        Assert.Equal(Size, received);
        Assert.Equal(Payload.Sha256(Size), hash.GetHashAndReset());
        Assert.Equal(0, after);
    }

    [Fact]
    public async Task ClientReset_DuringLargeResponse_ServerRequestAbortedAndNothingHangs()
    {
        var requestAborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handlerEnded = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var host = await TestHost.StartAsync(transport, app => app.MapGet("/endless", (RequestDelegate)(async context =>
        {
            using var registration = context.RequestAborted.Register(requestAborted.SetResult);
            var chunk = new byte[TestApp.ChunkSize];
            long sent = 0;
            try
            {
                // Write until the abort shows. Kestrel drops writes to a connection whose send side has failed
                // without an error and may signal RequestAborted a little later, so a loop that kept writing could
                // spin through any byte budget first: after 64 MiB (more than the client read plus every socket
                // buffer between them) it stops and only waits.
                while (!context.RequestAborted.IsCancellationRequested && sent < 64L * 1024 * 1024)
                {
                    await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
                    sent += chunk.Length;
                }
                await requestAborted.Task.WithTimeout();
                handlerEnded.TrySetResult($"no exception after {sent} bytes, RequestAborted={context.RequestAborted.IsCancellationRequested}");
            }
            catch (Exception e)
            {
                handlerEnded.TrySetResult($"{e.GetType().Name} after {sent} bytes, RequestAborted={context.RequestAborted.IsCancellationRequested}");
            }
        })), output);
        try
        {
            using (var connection = await RawHttpConnection.ConnectAsync(host.EndPoint))
            {
                await connection.SendAsync(RawHttpConnection.Get("/endless"));
                var (status, _) = await connection.ReadHeadAsync();
                Assert.Equal(200, status);
                // Well into the body (chunked framing included): the server is mid-response.
                await connection.SkipAsync(1024 * 1024);
                connection.Socket.LingerState = new LingerOption(true, 0);
            }

            string outcome = await handlerEnded.Task.WithTimeout();
            output.WriteLine($"{transport}: the handler ended with {outcome}");
            await requestAborted.Task.WithTimeout();

            Assert.EndsWith("RequestAborted=True", outcome, StringComparison.Ordinal);
        }
        finally
        {
            await host.DisposeAsync().AsTask().WithTimeout();
        }
        await Eventually.AssertAsync(() => host.MemoryPool.Outstanding == 0, host.MemoryPool.Describe);
    }

    [Fact]
    public async Task ServerAbort_BeforeResponse_ClientSeesConnectionReset()
    {
        await using var host = await TestHost.StartAsync(transport, app => app.MapGet("/abort", (RequestDelegate)(context =>
        {
            context.Abort();
            return Task.CompletedTask;
        })), output);
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);

        await connection.SendAsync(RawHttpConnection.Get("/abort"));
        string outcome = await ReadUntilEndAsync(connection);

        Assert.Equal("reset", outcome);
    }

    [Fact]
    public async Task ServerAbort_MidResponse_ClientSeesConnectionReset()
    {
        var clientHasHead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await TestHost.StartAsync(transport, app => app.MapGet("/abort", (RequestDelegate)(async context =>
        {
            context.Response.ContentLength = 1024 * 1024;
            await context.Response.Body.WriteAsync(new byte[16 * 1024]);
            await context.Response.Body.FlushAsync();
            // Abort only once the client has read the head: a reset discards what the client has not read yet.
            await clientHasHead.Task.WithTimeout();
            context.Abort();
        })), output);
        using var connection = await RawHttpConnection.ConnectAsync(host.EndPoint);

        await connection.SendAsync(RawHttpConnection.Get("/abort"));
        var (status, _) = await connection.ReadHeadAsync();
        await connection.SkipAsync(16 * 1024);
        clientHasHead.SetResult();
        string outcome = await ReadUntilEndAsync(connection);

        Assert.Equal(200, status);
        Assert.Equal("reset", outcome);
    }

    /// <summary>Reads until the connection ends; says how: "reset" (ECONNRESET) or "fin" (a read of 0).</summary>
    private async Task<string> ReadUntilEndAsync(RawHttpConnection connection)
    {
        long bytes = 0;
        try
        {
            bytes = await connection.ReadToEndAsync(chunk => bytes += chunk.Length);
            output.WriteLine($"{transport}: {bytes} bytes, then FIN");
            return "fin";
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            output.WriteLine($"{transport}: {bytes} bytes, then {e.SocketErrorCode}");
            return "reset";
        }
    }
}

/// <summary><see cref="ConnectionEndTests"/> on the epoll transport.</summary>
public sealed class EpollConnectionEndTests(ITestOutputHelper output) : ConnectionEndTests(TransportKind.Epoll, output);

/// <summary><see cref="ConnectionEndTests"/> on Kestrel's Sockets transport.</summary>
public sealed class SocketsConnectionEndTests(ITestOutputHelper output) : ConnectionEndTests(TransportKind.Sockets, output);
