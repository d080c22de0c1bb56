using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace KestrelEpollTransport.Tests.Infrastructure;

/// <summary>The endpoints most tests share; a test maps its own next to them when it needs one.</summary>
public static class TestApp
{
    /// <summary>The content type issue 2 specifies for the magedu page.</summary>
    public const string MagePageContentType = "text/html; charset=utf-8";

    /// <summary>
    /// The magedu page exactly as issue 2 specifies it (UTF-8, LF line ends, 4-space indents, no trailing newline),
    /// written out here rather than taken from the sample, so the sample is checked against the spec too.
    /// </summary>
    public static readonly byte[] MagePage = Encoding.UTF8.GetBytes(
        "<!DOCTYPE html>\n" +
        "<html lang=\"en\">\n" +
        "<head>\n" +
        "    <meta charset=\"UTF-8\">\n" +
        "    <title>magedu</title>\n" +
        "</head>\n" +
        "<body>\n" +
        "    <h1>\u9a6c\u54e5\u6559\u80b2www.magedu.com -- Multiplexing</h1>\n" +
        "</body>\n" +
        "</html>");

    /// <summary>Checks that <paramref name="response"/> is the magedu page exactly: status 200, its content type, its bytes.</summary>
    public static void AssertMagePage(RawHttpResponse response)
    {
        Assert.Equal(200, response.StatusCode);
        Assert.Equal(MagePageContentType, response.Header("Content-Type"));
        Assert.Equal(MagePage, response.Body);
    }

    /// <summary>The size of each write when a handler streams <see cref="Payload"/>.</summary>
    public const int ChunkSize = 64 * 1024;

    /// <summary>
    /// Maps: <c>GET /</c> the magedu page; <c>GET /index/{i}</c> the text of i; <c>POST /echo</c> the request body
    /// back; <c>GET /download/{size}</c> <see cref="Payload"/> of that size in <see cref="ChunkSize"/> writes;
    /// <c>GET /connection</c> the connection id (to prove keep-alive reuse).
    /// </summary>
    public static void MapStandardRoutes(WebApplication app)
    {
        app.MapGet("/", (RequestDelegate)(context =>
        {
            context.Response.ContentType = MagePageContentType;
            context.Response.ContentLength = MagePage.Length;
            return context.Response.Body.WriteAsync(MagePage, 0, MagePage.Length);
        }));
        app.MapGet("/index/{i:int}", (RequestDelegate)(context =>
        {
            var text = Encoding.ASCII.GetBytes((string)context.Request.RouteValues["i"]!);
            context.Response.ContentType = "text/plain";
            context.Response.ContentLength = text.Length;
            return context.Response.Body.WriteAsync(text, 0, text.Length);
        }));
        app.MapGet("/connection", (RequestDelegate)(context =>
        {
            context.Response.ContentType = "text/plain";
            return context.Response.WriteAsync(context.Connection.Id);
        }));
        app.MapPost("/echo", (RequestDelegate)(async context =>
        {
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = context.Request.ContentLength;
            await context.Request.Body.CopyToAsync(context.Response.Body, ChunkSize, context.RequestAborted);
        }));
        app.MapGet("/download/{size:long}", (RequestDelegate)(context =>
            WritePayloadAsync(context, long.Parse((string)context.Request.RouteValues["size"]!, CultureInfo.InvariantCulture))));
    }

    /// <summary>Writes <paramref name="size"/> bytes of <see cref="Payload"/> as the response, in <see cref="ChunkSize"/> writes.</summary>
    public static async Task WritePayloadAsync(HttpContext context, long size)
    {
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = size;
        var chunk = new byte[ChunkSize];
        for (long offset = 0; offset < size; offset += chunk.Length)
        {
            int take = (int)Math.Min(chunk.Length, size - offset);
            Payload.Fill(chunk.AsSpan(0, take), offset);
            await context.Response.Body.WriteAsync(chunk.AsMemory(0, take), context.RequestAborted);
        }
    }
}
