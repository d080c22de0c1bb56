using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace SampleWeb;

/// <summary>
/// Responses shaped as real apps write them, for the benchmark runner's shape scenarios (docs/benchmarks.md): a string
/// from a minimal API, many small flushes, an event stream, a body written in pieces, uploads. Mapped under
/// <c>/shapes/</c> only with <c>--SampleWeb:Shapes=true</c>, so the default site and its pages stay as they are.
/// The runner's in-memory floor links this file, so both serve these very handlers.
/// </summary>
internal static class ShapeEndpoints
{
    /// <summary>Flushes of the stream shape and their size: a response trickled out as a progress feed would.</summary>
    public const int StreamFlushes = 64;

    public const int StreamFlushBytes = 32;

    /// <summary>Events of the SSE shape, each written and flushed on its own.</summary>
    public const int SseEvents = 300;

    /// <summary>The chunks shape: 64 KiB in 4 KiB writes, the buffer size of serializers and view writers.</summary>
    public const int ChunksTotalBytes = 64 * 1024;

    public const int ChunksWriteBytes = 4 * 1024;

    private static readonly byte[] StreamPiece = CreateBytes(StreamFlushBytes);

    // Pre-encoded so the handler measures the writes, not the formatting.
    private static readonly byte[][] SseEventBytes =
        [.. Enumerable.Range(0, SseEvents).Select(i => Encoding.UTF8.GetBytes($"data: {{\"n\":{i}}}\n\n"))];

    private static readonly byte[] ChunksBody = CreateBytes(ChunksTotalBytes);

    private static readonly byte[] Ok = "OK"u8.ToArray();

    public static void MapShapes(this IEndpointRouteBuilder app)
    {
        RouteGroupBuilder shapes = app.MapGroup("/shapes");
        // As a user writes it: a string result, text/plain, no Content-Length, so Kestrel chunks it and sends the
        // terminating chunk in a flush of its own when the handler returns.
        shapes.MapGet("/hello", () => "Hello World!");
        shapes.MapGet("/stream", (RequestDelegate)StreamAsync);
        shapes.MapGet("/sse", (RequestDelegate)SseAsync);
        shapes.MapGet("/chunks", (RequestDelegate)ChunksAsync);
        shapes.MapPost("/upload", (RequestDelegate)UploadAsync);
        shapes.MapPost("/drain", (RequestDelegate)DrainAsync);
    }

    /// <summary>64 flushes of 32 B, each a write and an explicit flush.</summary>
    private static async Task StreamAsync(HttpContext context)
    {
        context.Response.ContentType = "application/octet-stream";
        Stream body = context.Response.Body;
        for (int i = 0; i < StreamFlushes; i++)
        {
            await body.WriteAsync(StreamPiece);
            await body.FlushAsync();
        }
    }

    /// <summary>Server-sent events with no delay between them: each event written and flushed.</summary>
    private static async Task SseAsync(HttpContext context)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        Stream body = context.Response.Body;
        foreach (byte[] message in SseEventBytes)
        {
            await body.WriteAsync(message);
            await body.FlushAsync();
        }
    }

    /// <summary>64 KiB in 4 KiB writes and no explicit flush, as a serializer or a view writes a page.</summary>
    private static async Task ChunksAsync(HttpContext context)
    {
        context.Response.ContentType = "application/octet-stream";
        Stream body = context.Response.Body;
        for (int offset = 0; offset < ChunksBody.Length; offset += ChunksWriteBytes)
        {
            await body.WriteAsync(ChunksBody.AsMemory(offset, ChunksWriteBytes));
        }
    }

    /// <summary>Reads the whole request body and answers "OK", or 400 when fewer bytes came than Content-Length said.</summary>
    private static async Task UploadAsync(HttpContext context)
    {
        long received = await ReadToEndAsync(context.Request.BodyReader);
        HttpResponse response = context.Response;
        response.StatusCode = received == context.Request.ContentLength ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest;
        response.ContentType = "text/plain";
        response.ContentLength = Ok.Length;
        await response.Body.WriteAsync(Ok);
    }

    /// <summary>
    /// Reads and discards a body of any length: the fairness scenario's flood streams one without end. Kestrel's
    /// 30 MB request body limit is lifted for this endpoint only.
    /// </summary>
    private static async Task DrainAsync(HttpContext context)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = null;
        }
        await ReadToEndAsync(context.Request.BodyReader);
        context.Response.ContentLength = Ok.Length;
        await context.Response.Body.WriteAsync(Ok);
    }

    private static async Task<long> ReadToEndAsync(PipeReader reader)
    {
        long received = 0;
        while (true)
        {
            ReadResult result = await reader.ReadAsync();
            received += result.Buffer.Length;
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return received;
            }
        }
    }

    private static byte[] CreateBytes(int size)
    {
        var bytes = new byte[size];
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)('a' + (i % 26));
        }
        return bytes;
    }
}
