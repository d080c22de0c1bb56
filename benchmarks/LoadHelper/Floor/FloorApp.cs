using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace TransportBench.Floor;

/// <summary>The SampleWeb app (same builder, endpoints, handlers and bytes) on the in-memory transport. Keep in step with
/// src/SampleWeb/Program.cs.</summary>
internal static class FloorApp
{
    /// <param name="sampleDirectory">The published SampleWeb, whose appsettings.json (its log levels matter:
    /// docs/benchmarks.md) configures this app too.</param>
    public static WebApplication Build(string sampleDirectory)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = Path.GetFullPath(sampleDirectory),
        });
        builder.Services.AddSingleton<InMemoryTransportFactory>();
        // Last registered wins: Kestrel binds through the in-memory factory, never through Sockets.
        builder.Services.AddSingleton<IConnectionListenerFactory>(sp => sp.GetRequiredService<InMemoryTransportFactory>());
        // An address Kestrel hands to the factory; nothing listens on it.
        builder.WebHost.UseUrls("http://127.0.0.1:8080");

        var app = builder.Build();
        app.MapGet("/", (RequestDelegate)(context => WriteAsync(context, "text/html; charset=utf-8", SampleWeb.MagePage.Html)));
        app.MapGet("/plaintext", (RequestDelegate)(context => WriteAsync(context, "text/plain", SampleWeb.MagePage.Plaintext)));
        app.MapGet("/json", (RequestDelegate)(context => WriteAsync(context, "application/json", SampleWeb.MagePage.Json)));
        app.MapGet("/large", (RequestDelegate)(context => WriteAsync(context, "application/octet-stream", SampleWeb.MagePage.Large)));
        // SampleWeb's /shapes/ endpoints (the linked ShapeEndpoints.cs), mapped as the runner starts every server.
        SampleWeb.ShapeEndpoints.MapShapes(app);
        return app;
    }

    /// <summary>SampleWeb's handler, verbatim.</summary>
    private static Task WriteAsync(HttpContext context, string contentType, byte[] body)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = contentType;
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, 0, body.Length);
    }
}
