using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using KestrelEpollTransport.Tests.Infrastructure;
using Xunit.Abstractions;

namespace KestrelEpollTransport.Tests.Packaging;

/// <summary>
/// What a user gets: the NuGet package from <c>dotnet pack</c>, SampleWeb published with NativeAOT (no warning,
/// and the binary serves the page), and the benchmark runner's quick run. Each builds from the repository's sources into a temporary folder of its own
/// (<c>--artifacts-path</c>), so the tree's bin/obj, which other test projects run from, are not touched.
/// </summary>
/// <remarks>
/// Measured on the 2-core CI machine, each alone: pack 14 s, the NativeAOT publish 125 s, the benchmark runner's quick
/// run with its builds about a minute (each test prints its time).
/// </remarks>
[Collection(SlowBuilds.Name)]
[Trait("Category", "Slow")] // Minutes of both cores: left out with --filter "Category!=Slow" (README).
public sealed partial class PackagingTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>A NativeAOT publish of SampleWeb takes ~2 minutes here; the bound leaves room for a loaded machine.</summary>
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(8);

    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(4);

    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("epoll-packaging-");

    [Fact]
    public async Task Pack_Transport_NupkgHasReadmeLicenseDllAndXmlDocsAndSymbolsPackage()
    {
        string outDir = Path.Combine(_temp.FullName, "out");

        var result = await DotnetAsync(PackTimeout, "pack", Path.Combine(RepositoryRoot, "src", "Transport"), "-c", "Release", "-o", outDir);

        Assert.True(result.ExitCode == 0, result.Describe());
        string nupkg = Path.Combine(outDir, "KestrelEpollTransport.0.1.0.nupkg");
        string snupkg = Path.Combine(outDir, "KestrelEpollTransport.0.1.0.snupkg");
        Assert.True(File.Exists(nupkg), $"no {Path.GetFileName(nupkg)} in [{string.Join(", ", Directory.GetFiles(outDir).Select(Path.GetFileName))}]");
        Assert.True(File.Exists(snupkg), $"no {Path.GetFileName(snupkg)} in [{string.Join(", ", Directory.GetFiles(outDir).Select(Path.GetFileName))}]");

        using (var package = ZipFile.OpenRead(nupkg))
        {
            var entries = package.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
            output.WriteLine($"nupkg: {string.Join(", ", entries.Order(StringComparer.Ordinal))}");
            Assert.Contains("lib/net10.0/KestrelEpollTransport.dll", entries);
            Assert.Contains("lib/net10.0/KestrelEpollTransport.xml", entries);
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(RepositoryRoot, "README.md")), await ReadEntryAsync(package, "README.md"));
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(RepositoryRoot, "LICENSE")), await ReadEntryAsync(package, "LICENSE"));
            // The XML docs document the public surface, e.g. the options.
            string docs = System.Text.Encoding.UTF8.GetString(await ReadEntryAsync(package, "lib/net10.0/KestrelEpollTransport.xml"));
            Assert.Contains("P:KestrelEpollTransport.EpollTransportOptions.ThreadCount", docs, StringComparison.Ordinal);

            // Load from bytes: the nuspec starts with a byte order mark.
            var nuspec = XDocument.Load(new MemoryStream(await ReadEntryAsync(package, "KestrelEpollTransport.nuspec")));
            XNamespace ns = nuspec.Root!.Name.Namespace;
            var metadata = nuspec.Root.Element(ns + "metadata")!;
            Assert.Equal("KestrelEpollTransport", metadata.Element(ns + "id")?.Value);
            Assert.Equal("0.1.0", metadata.Element(ns + "version")?.Value);
            Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
            Assert.Equal("MIT", metadata.Element(ns + "license")?.Value);
            Assert.Equal("expression", metadata.Element(ns + "license")?.Attribute("type")?.Value);
        }
        using (var symbols = ZipFile.OpenRead(snupkg))
        {
            Assert.Contains(symbols.Entries, e => e.FullName == "lib/net10.0/KestrelEpollTransport.pdb");
        }
    }

    [Fact]
    public async Task PublishAot_SampleWeb_NoWarningAndTheBinaryServesThePage()
    {
        string outDir = Path.Combine(_temp.FullName, "out");
        string rid = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";

        var result = await DotnetAsync(PublishTimeout, "publish", Path.Combine(RepositoryRoot, "src", "SampleWeb"),
            "-c", "Release", "-r", rid, "-p:PublishAot=true", "-o", outDir);

        Assert.True(result.ExitCode == 0, result.Describe());
        var warnings = result.StdoutText.Split('\n').Concat(result.Stderr.Split('\n')).Where(l => WarningLine().IsMatch(l)).ToList();
        Assert.True(warnings.Count == 0, $"the publish warned:\n{string.Join('\n', warnings)}");
        string binary = Path.Combine(outDir, "SampleWeb");
        Assert.True(File.Exists(binary), $"no native SampleWeb in {outDir}");
        Assert.False(File.Exists(Path.Combine(outDir, "SampleWeb.dll")), "a SampleWeb.dll was published next to the binary: not a NativeAOT publish");

        using var sample = SampleWebProcess.Start(new System.Diagnostics.ProcessStartInfo(binary, ["--urls", "http://127.0.0.1:0"]), output);
        try
        {
            var threads = await sample.AssertServesMagePageAsync();

            // The epoll transport serves it (its default): loop threads, and not the runtime's socket engine.
            Assert.Contains(threads, ProcessResources.IsEpollLoop);
            Assert.DoesNotContain(".NET Sockets", threads);
        }
        finally
        {
            await sample.StopAsync();
        }
        Assert.Equal(0, sample.Process.ExitCode);
    }

    public void Dispose()
    {
        _temp.Delete(recursive: true);
    }

    /// <summary>
    /// The benchmark runner works as the README runs it, briefly (--quick): it measures Sockets and Epoll on the page
    /// and at a fixed rate, and writes its three reports. It proves the runner works; the figures are not judged.
    /// </summary>
    [Fact]
    public async Task BenchmarkRunner_Quick_MeasuresEachServerAndWritesItsReports()
    {
        string sample = Path.Combine(_temp.FullName, "sample");
        string results = Path.Combine(_temp.FullName, "results");
        var publish = await DotnetAsync(PublishTimeout, "publish", Path.Combine(RepositoryRoot, "src", "SampleWeb"), "-c", "Release", "-o", sample);
        Assert.True(publish.ExitCode == 0, publish.Describe());
        var build = await DotnetAsync(PackTimeout, "build", Path.Combine(RepositoryRoot, "benchmarks", "TransportBench"), "-c", "Release");
        Assert.True(build.ExitCode == 0, build.Describe());
        string runner = Path.Combine(_temp.FullName, "artifacts", "bin", "TransportBench", "release", "TransportBench.dll");

        var run = await ExternalTool.RunAsync(SampleWebProcess.DotnetHost,
            [runner, "--quick", "--no-perf", "--scenarios", "page,latency", "--servers", "sockets,epoll", "--sample", sample, "--out", results],
            TimeSpan.FromMinutes(5), RepositoryRoot, BuildEnvironment());
        output.WriteLine($"runner: exit {run.ExitCode} in {run.Elapsed.TotalSeconds:0} s");
        output.WriteLine(run.StdoutText);
        output.WriteLine(run.Stderr);

        Assert.True(run.ExitCode == 0, run.Describe());
        foreach (string report in new[] { "results.md", "results.json", "results.svg" })
        {
            Assert.True(File.Exists(Path.Combine(results, report)), $"no {report} in {results}");
        }
        using var json = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(results, "results.json")));
        var measured = json.RootElement.GetProperty("Samples").EnumerateArray()
            .Where(s => !s.TryGetProperty("Error", out _) // Left out when there was none.
                && s.TryGetProperty("RequestsPerSecond", out var rate) && rate.GetDouble() > 0)
            .Select(s => $"{s.GetProperty("Scenario").GetString()}/{s.GetProperty("Server").GetString()}")
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Equal(["latency/epoll", "latency/sockets", "page/epoll", "page/sockets"], measured);
        Assert.Contains("| page |", await File.ReadAllTextAsync(Path.Combine(results, "results.md")), StringComparison.Ordinal);
    }

    /// <summary>
    /// Runs <c>dotnet {verb} {project}</c> building into this test's folder, with no build server left behind (a
    /// lingering MSBuild node or compiler server would hold the output pipes, and the CPU, after the test).
    /// </summary>
    private async Task<ToolResult> DotnetAsync(TimeSpan timeout, string verb, string project, params string[] arguments)
    {
        var result = await ExternalTool.RunAsync(SampleWebProcess.DotnetHost,
            [verb, project, .. arguments, "--artifacts-path", Path.Combine(_temp.FullName, "artifacts"),
                "-nodeReuse:false", "-p:UseSharedCompilation=false", "-p:UseRazorBuildServer=false"],
            timeout, RepositoryRoot, BuildEnvironment());
        output.WriteLine($"dotnet {verb} {Path.GetFileName(project)}: exit {result.ExitCode} in {result.Elapsed.TotalSeconds:0} s");
        output.WriteLine(result.StdoutText);
        output.WriteLine(result.Stderr);
        return result;
    }

    /// <summary>
    /// This process's environment less what the test host sets for its own MSBuild (it runs inside dotnet test), so the
    /// child build resolves its SDK as a user's shell would.
    /// </summary>
    private static Dictionary<string, string?> BuildEnvironment()
    {
        var environment = new Dictionary<string, string?>
        {
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",
        };
        foreach (string key in Environment.GetEnvironmentVariables().Keys.Cast<string>())
        {
            if (key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
            {
                environment[key] = null;
            }
        }
        return environment;
    }

    private static string RepositoryRoot { get; } = FindRepositoryRoot();

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KestrelEpollTransport.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"No KestrelEpollTransport.sln above {AppContext.BaseDirectory}.");
    }

    private static async Task<byte[]> ReadEntryAsync(ZipArchive archive, string name)
    {
        var entry = archive.GetEntry(name);
        Assert.True(entry is not null, $"no {name} in the package");
        await using var stream = entry.Open();
        var bytes = new MemoryStream();
        await stream.CopyToAsync(bytes);
        return bytes.ToArray();
    }

    /// <summary>A warning as MSBuild, the compilers and ILC print it ("file(1,2): warning IL2026: ..."), or any line saying warning.</summary>
    [GeneratedRegex(@"(?i)\bwarning\b(?!\(s\))")]
    private static partial Regex WarningLine();
}
