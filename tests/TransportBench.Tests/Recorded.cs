using TransportBench.Servers;

namespace TransportBench.Tests;

/// <summary>The recorded tool outputs of Recorded/ (its README says how each was made).</summary>
internal static class Recorded
{
    public static string Text(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Recorded", name));

    public static string[] Lines(string name) => File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Recorded", name));

    /// <summary>A tool's run as the runner sees it: the recorded output on stdout, and the exit code it had.</summary>
    public static ToolResult Run(string name, int exitCode = 0) => new(exitCode, Text(name), "");
}
