using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Infrastructure;

/// <summary>
/// The sample site (src/SampleWeb) in a child process, as a user runs it: from the SampleWeb.dll built next to the
/// tests, from a NativeAOT binary, or through a shell that prepares what it inherits (systemd socket activation).
/// Its output goes to the test's output; the first "Now listening on" address is <see cref="ChildServerProcess.ListeningOn"/>.
/// </summary>
public sealed partial class SampleWebProcess : ChildServerProcess
{
    private SampleWebProcess(ProcessStartInfo start, ITestOutputHelper output)
        : base(start, output, "sample", ListeningLine())
    {
    }

    /// <summary>The SampleWeb.dll copied next to the tests by the project reference.</summary>
    public static string SampleDll => Path.Combine(AppContext.BaseDirectory, "SampleWeb.dll");

    /// <summary>Runs <c>dotnet exec SampleWeb.dll</c> with <paramref name="arguments"/>.</summary>
    public static SampleWebProcess StartDll(ITestOutputHelper output, params string[] arguments) =>
        Start(new ProcessStartInfo(DotnetHost, ["exec", SampleDll, .. arguments]), output);

    /// <summary>Runs <paramref name="start"/> (its output is redirected here), a sample or a shell that execs one.</summary>
    public static SampleWebProcess Start(ProcessStartInfo start, ITestOutputHelper output) => new(start, output);

    /// <summary>
    /// Once the sample listens, fetches <c>GET /</c> over a connection of its own and checks that it is the magedu
    /// page exactly; returns the sample's thread names right after (which transport served it).
    /// </summary>
    public async Task<IReadOnlyList<string>> AssertServesMagePageAsync()
    {
        var endPoint = await ListeningOn.Task.WithTimeout();
        using var connection = await RawHttpConnection.ConnectAsync(endPoint);
        await connection.SendAsync(RawHttpConnection.Get("/"));
        TestApp.AssertMagePage(await connection.ReadResponseAsync());
        return ProcessResources.ThreadNames(Process.Id);
    }

    [GeneratedRegex(@"Now listening on: http://(\d+\.\d+\.\d+\.\d+):(\d+)")]
    private static partial Regex ListeningLine();
}
