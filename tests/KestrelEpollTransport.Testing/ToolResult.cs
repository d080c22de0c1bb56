using System.Text;

namespace KestrelEpollTransport.Testing;

/// <summary>What a command printed and how it ended.</summary>
/// <param name="ExitCode">The exit status.</param>
/// <param name="Stdout">Standard output, byte for byte (a page fetched by curl is compared exactly).</param>
/// <param name="Stderr">Standard error.</param>
/// <param name="Elapsed">How long it ran.</param>
public sealed record ToolResult(int ExitCode, byte[] Stdout, string Stderr, TimeSpan Elapsed)
{
    /// <summary>Standard output as UTF-8 text.</summary>
    public string StdoutText => Encoding.UTF8.GetString(Stdout);

    /// <summary>Both streams, for an assertion message.</summary>
    public string Describe() => $"exit {ExitCode} after {Elapsed.TotalSeconds:0.0} s; stdout:\n{StdoutText}\nstderr:\n{Stderr}";
}
