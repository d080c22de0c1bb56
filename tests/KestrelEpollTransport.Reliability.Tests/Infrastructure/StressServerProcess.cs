using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace KestrelEpollTransport.Reliability.Tests.Infrastructure;

/// <summary>
/// <c>Stress serve</c> in a child process (the same runtime as the tests): for what must happen to a whole
/// process — a lowered fd limit, SIGTERM, its own CPU time and memory in /proc — or needs more fds than one
/// process may hold. Its lines are kept (warnings and errors carry their event ids) and echoed to the test.
/// </summary>
internal sealed partial class StressServerProcess : ChildServerProcess
{
    private StressServerProcess(ProcessStartInfo start, ITestOutputHelper output)
        : base(start, output, "server", ListeningLine())
    {
    }

    /// <summary>The Stress.dll copied next to the tests by the project reference.</summary>
    public static string StressDll => Path.Combine(AppContext.BaseDirectory, "Stress.dll");

    /// <summary>Where it listens.</summary>
    public IPEndPoint EndPoint { get; private set; } = null!;

    /// <summary>Starts <c>Stress serve</c> with <paramref name="args"/> (on <c>--port 0</c> unless they name a port) and waits until it listens.</summary>
    public static async Task<StressServerProcess> StartAsync(ITestOutputHelper output, params string[] args)
    {
        string[] port = args.Contains("--port") ? [] : ["--port", "0"];
        var server = new StressServerProcess(new ProcessStartInfo(DotnetHost, ["exec", StressDll, "serve", .. port, .. args]), output);
        try
        {
            server.EndPoint = await server.ListeningOn.Task.WithTimeout();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    [GeneratedRegex(@"stress-serve: listening on http://(\d+\.\d+\.\d+\.\d+):(\d+)")]
    private static partial Regex ListeningLine();
}
