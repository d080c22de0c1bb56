using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Stress.Server;

/// <summary>
/// The stress server's endpoints, shared by <c>Stress serve</c> and the reliability tests' in-process hosts. Nonces
/// travel as 16 hex digits (<c>n=</c>), exchange numbers as decimals (<c>s=</c>); bodies are <see cref="StressPayload"/>.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>GET /hello?n=&amp;s=</c>: the text <c>n-s</c> (tells a misrouted response from a right one).</item>
/// <item><c>GET /download?n=&amp;s=&amp;size=</c>: <c>size</c> bytes of the payload of (n, s).</item>
/// <item><c>POST /echo</c>: the request body back as it arrives (Content-Length as the request's).</item>
/// <item><c>POST /upload</c>: the lowercase hex SHA-256 of the request body.</item>
/// <item><c>GET /slow?ms=&amp;n=&amp;s=</c>: waits <c>ms</c> (at most 60 s), then answers as /hello.</item>
/// <item><c>GET /block?ms=&amp;n=&amp;s=</c>: blocks a pool thread <c>ms</c> (at most 10 s), then answers as /hello.</item>
/// <item><c>GET /stats[?gc=1]</c>: this process's RSS, fds, threads, managed heap, the transport's counters and the
/// fd canary's counts (0 without <c>--fd-canary 1</c>), as JSON.</item>
/// <item><c>GET /hog?n=&amp;ms=</c>: takes up to <c>n</c> fds for <c>ms</c> milliseconds (<see cref="FdHog"/>); answers how many it got.</item>
/// <item><c>GET /throw</c>: the application throws (Kestrel answers 500 and logs it).</item>
/// </list>
/// A client that goes away mid-body makes the handler fail with an I/O error; that is the client's doing and is not
/// counted. Anything else a handler throws is counted in <see cref="UnexpectedErrors"/> and rethrown.
/// </remarks>
internal sealed class StressEndpoints(TransportMeterWatcher meter, FdCanary? canary = null)
{
    /// <summary>Bytes written per flush of a download.</summary>
    private const int FlushSize = 64 * 1024;

    private long _unexpectedErrors;
    private long _slowInFlight;

    /// <summary>Exceptions from handlers other than a client going away (and other than /throw's).</summary>
    public long UnexpectedErrors => Interlocked.Read(ref _unexpectedErrors);

    /// <summary>/slow requests waiting now (a shutdown test knows its requests are in flight).</summary>
    public long SlowInFlight => Interlocked.Read(ref _slowInFlight);

    /// <summary>Serves every endpoint from one terminal middleware (no routing: its cost would hide the transport).</summary>
    public void Map(IApplicationBuilder app) => app.Run(HandleAsync);

    private async Task HandleAsync(HttpContext context)
    {
        try
        {
            var task = context.Request.Path.Value switch
            {
                "/hello" => HelloAsync(context),
                "/download" => DownloadAsync(context),
                "/echo" => EchoAsync(context),
                "/upload" => UploadAsync(context),
                "/slow" => SlowAsync(context),
                "/block" => BlockAsync(context),
                "/hog" => HogAsync(context),
                "/stats" => WriteTextAsync(context, "application/json", Stats(context)),
                "/throw" => throw new DeliberateFaultException(),
                _ => NotFound(context),
            };
            await task;
        }
        catch (Exception e) when (IsClientGone(e, context))
        {
            // The client reset or left mid-exchange (the stress mix does it on purpose). Aborting tells Kestrel
            // not to finish the response (it would report the Content-Length it did not get as an app error).
            context.Abort();
        }
        catch (Exception e) when (e is not DeliberateFaultException)
        {
            Interlocked.Increment(ref _unexpectedErrors);
            throw;
        }
    }

    private static bool IsClientGone(Exception e, HttpContext context) =>
        e is IOException or OperationCanceledException or BadHttpRequestException || context.RequestAborted.IsCancellationRequested;

    private static Task HelloAsync(HttpContext context) =>
        WriteTextAsync(context, "text/plain", $"{context.Request.Query["n"]}-{context.Request.Query["s"]}");

    private static async Task DownloadAsync(HttpContext context)
    {
        ulong nonce = ulong.Parse(context.Request.Query["n"].ToString(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        uint sequence = uint.Parse(context.Request.Query["s"].ToString(), CultureInfo.InvariantCulture);
        long size = long.Parse(context.Request.Query["size"].ToString(), CultureInfo.InvariantCulture);
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = size;
        var writer = context.Response.BodyWriter;
        long unflushed = 0;
        for (long offset = 0; offset < size;)
        {
            var memory = writer.GetMemory(4096);
            int take = (int)Math.Min(memory.Length, size - offset);
            StressPayload.Fill(memory.Span[..take], nonce, sequence, offset);
            writer.Advance(take);
            offset += take;
            unflushed += take;
            if (unflushed >= FlushSize || offset == size)
            {
                unflushed = 0;
                var result = await writer.FlushAsync(context.RequestAborted);
                if (result.IsCanceled || result.IsCompleted)
                {
                    // The client is gone (a send failed: the transport completed the output) before Kestrel saw the
                    // connection close. Returning would make Kestrel report a Content-Length mismatch as an
                    // application error; abort the request instead, as EchoAsync does.
                    context.Abort();
                    return;
                }
            }
        }
    }

    /// <summary>
    /// Copies the request body to the response as it arrives. Not <c>PipeReader.CopyToAsync</c>: that returns
    /// normally when the response can no longer be written (the client reset), and Kestrel then reports a
    /// Content-Length mismatch as an application error; here a gone client aborts the request instead.
    /// </summary>
    private static async Task EchoAsync(HttpContext context)
    {
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = context.Request.ContentLength;
        var reader = context.Request.BodyReader;
        var writer = context.Response.BodyWriter;
        long copied = 0;
        while (true)
        {
            var result = await reader.ReadAsync(context.RequestAborted);
            foreach (var segment in result.Buffer)
            {
                writer.Write(segment.Span);
            }
            copied += result.Buffer.Length;
            reader.AdvanceTo(result.Buffer.End);
            var flush = await writer.FlushAsync(context.RequestAborted);
            if (flush.IsCompleted || flush.IsCanceled || (result.IsCompleted && copied != context.Request.ContentLength))
            {
                // The client is gone (reset mid-upload): Kestrel ended the body or the response early.
                context.Abort();
                return;
            }
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    private static async Task UploadAsync(HttpContext context)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var reader = context.Request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(context.RequestAborted);
            foreach (var segment in result.Buffer)
            {
                hash.AppendData(segment.Span);
            }
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }
        await WriteTextAsync(context, "text/plain", Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    private async Task SlowAsync(HttpContext context)
    {
        int ms = Math.Clamp(int.Parse(context.Request.Query["ms"].ToString(), CultureInfo.InvariantCulture), 0, 60_000);
        Interlocked.Increment(ref _slowInFlight);
        try
        {
            // Not bound to RequestAborted: a graceful stop must let this request finish (the shutdown test's point).
            await Task.Delay(ms);
        }
        finally
        {
            Interlocked.Decrement(ref _slowInFlight);
        }
        await HelloAsync(context);
    }

    /// <summary>
    /// /block?ms=: holds a pool thread (Thread.Sleep) for up to 10 s, as a handler that blocks would: enough of them
    /// starve the thread pool, which then starts more threads.
    /// </summary>
    private static Task BlockAsync(HttpContext context)
    {
        int ms = Math.Clamp(int.Parse(context.Request.Query["ms"].ToString(), CultureInfo.InvariantCulture), 0, 10_000);
        Thread.Sleep(ms);
        return HelloAsync(context);
    }

    private static Task HogAsync(HttpContext context)
    {
        int count = Math.Clamp(int.Parse(context.Request.Query["n"].ToString(), CultureInfo.InvariantCulture), 0, 100_000);
        int ms = Math.Clamp(int.Parse(context.Request.Query["ms"].ToString(), CultureInfo.InvariantCulture), 0, 60_000);
        return WriteTextAsync(context, "text/plain", FdHog.Take(count, TimeSpan.FromMilliseconds(ms)).ToString(CultureInfo.InvariantCulture));
    }

    private string Stats(HttpContext context)
    {
        bool collect = context.Request.Query["gc"] == "1";
        if (collect)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
        }
        // The /proc reads need an fd each: under fd exhaustion they fail, and report -1 rather than fail the request.
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"pid\":{Environment.ProcessId},\"rssBytes\":{OrMinusOne(() => ProcessStats.RssBytes())},\"openFds\":{OrMinusOne(() => ProcessStats.OpenFds())}," +
            $"\"threads\":{OrMinusOne(() => ProcessStats.Threads())},\"managedHeapBytes\":{GC.GetTotalMemory(forceFullCollection: false)}," +
            $"\"accepted\":{meter.Accepted},\"active\":{meter.Active},\"kestrelActive\":{meter.KestrelActive},\"acceptErrors\":{meter.AcceptErrors}," +
            $"\"acceptDeferred\":{meter.AcceptDeferred},\"unexpectedErrors\":{UnexpectedErrors},\"slowInFlight\":{SlowInFlight}," +
            $"\"canaryRuns\":{canary?.Runs ?? 0},\"canaryFailures\":{canary?.Failures ?? 0}}}");
    }

    private static long OrMinusOne(Func<long> read)
    {
        try
        {
            return read();
        }
        catch (IOException)
        {
            return -1;
        }
    }

    private static Task NotFound(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    private static Task WriteTextAsync(HttpContext context, string contentType, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        context.Response.ContentType = contentType;
        context.Response.ContentLength = bytes.Length;
        return context.Response.Body.WriteAsync(bytes, 0, bytes.Length, context.RequestAborted);
    }
}
