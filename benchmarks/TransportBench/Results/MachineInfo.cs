using System.Runtime.InteropServices;

namespace TransportBench.Results;

/// <summary>The machine and settings a run used, named in every report so no figure travels without them.</summary>
internal sealed record MachineInfo(
    string Cpu, int CpuCount, long MemoryMib, string Kernel, string Runtime, string Pinning, string Started, string Settings, string Revision)
{
    public static MachineInfo Collect(BenchOptions options, IReadOnlyList<CoreLayout> layouts)
    {
        string cpu = ReadFirst("/proc/cpuinfo", "model name", line => line[(line.IndexOf(':') + 1)..].Trim()) ?? RuntimeInformation.ProcessArchitecture.ToString();
        long memoryKib = ReadFirst("/proc/meminfo", "MemTotal:", line =>
            long.Parse(line["MemTotal:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture));
        string kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : RuntimeInformation.OSDescription;
        string perf = options.NoPerf ? "off" : Format.Inv($"{options.PerfDuration.TotalSeconds:0.#} s");
        string processorCount = options.ProcessorCount is int n ? n.ToString(CultureInfo.InvariantCulture) : "not set";
        string duration = options.Duration is TimeSpan d ? Format.Inv($"{d.TotalSeconds:0.#} s") : "8 s (5 s for the shapes)";
        string quick = options.Quick ? "; --quick (proves the runner works; figures not worth quoting)" : "";
        string Warmup(bool newProcess) => Running.WarmupRule.Least(options.Warmup, newProcess) is var least && least < options.WarmupLimit
            ? Format.Inv($"{least.TotalSeconds:0.#}–{options.WarmupLimit.TotalSeconds:0.#} s")
            : Format.Inv($"{least.TotalSeconds:0.#} s");
        string settings = Format.Inv(
            $"{string.Join(", ", layouts.Select(l => Format.Inv($"{l.Rounds(options)} round(s) {l.Name}")))} × {duration} measured after a warm-up until the server's JIT is quiet, of {Warmup(true)} on a new server process, {Warmup(false)} on one kept for the round; syscall pass {perf}; DOTNET_PROCESSOR_COUNT {processorCount}{quick}");
        return new MachineInfo(cpu, Environment.ProcessorCount, memoryKib / 1024, kernel, RuntimeInformation.FrameworkDescription,
            string.Join("; ", layouts.Select(l => $"{l.Name}: {l.Description}")),
            DateTimeOffset.Now.ToString("yyyy-MM-dd HH:mm zzz", CultureInfo.InvariantCulture), settings, GitRevision());
    }

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{CpuCount} × {Cpu}, {MemoryMib / 1024.0:0} GiB, Linux {Kernel}, {Runtime}; {Pinning}");

    /// <summary>The commit measured ("+ local changes" when the tree differs from it), or "unknown".</summary>
    private static string GitRevision()
    {
        string? root = DotnetHost.RepositoryRoot();
        if (root is null || !ChildProcesses.Exists("git"))
        {
            return "unknown";
        }
        ToolResult Git(params string[] arguments) =>
            ChildProcesses.RunAsync("git", ["-C", root, .. arguments], TimeSpan.FromSeconds(20), CancellationToken.None).GetAwaiter().GetResult();
        ToolResult head = Git("log", "-1", "--format=%h %s");
        ToolResult dirty = Git("status", "--porcelain", "--", "src");
        string commit = head.ExitCode == 0 ? head.Stdout.Trim() : "unknown";
        return dirty.ExitCode == 0 && dirty.Stdout.Trim().Length > 0 ? commit + " + local changes in src/" : commit;
    }

    private static T? ReadFirst<T>(string path, string prefix, Func<string, T> parse) =>
        File.Exists(path) && File.ReadLines(path).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) is { } line ? parse(line) : default;
}
