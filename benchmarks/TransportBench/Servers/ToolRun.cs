using System.Diagnostics;
using System.Text;

namespace TransportBench.Servers;

/// <summary>The outcome of one external command (wrk, h2load, perf, dotnet publish).</summary>
/// <param name="ExitCode">Its exit status; -1 when it was killed for running past its limit.</param>
/// <param name="Stdout">Everything it wrote to standard output.</param>
/// <param name="Stderr">Everything it wrote to standard error.</param>
internal sealed record ToolResult(int ExitCode, string Stdout, string Stderr)
{
    public bool TimedOut => ExitCode == -1;

    /// <summary>The last lines of both streams, for an error message.</summary>
    public string Tail(int lines = 15) =>
        string.Join('\n', (Stdout + "\n" + Stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(lines));
}

/// <summary>Runs an external command to completion, bounded in time, killed on cancellation.</summary>
internal static class ToolRun
{
    public static async Task<ToolResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan limit,
        CancellationToken cancellationToken,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null)
    {
        using Process process = ChildProcesses.Start(ChildProcesses.StartInfo(fileName, arguments, environment, workingDirectory));
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        Task readOut = PumpAsync(process.StandardOutput, stdout);
        Task readErr = PumpAsync(process.StandardError, stderr);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        bool timedOut = false;
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = !cancellationToken.IsCancellationRequested;
            ChildProcesses.Kill(process);
            if (!timedOut)
            {
                throw;
            }
        }
        await Task.WhenAll(readOut, readErr);
        ChildProcesses.Unregister(process);
        return new ToolResult(timedOut ? -1 : process.ExitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Whether a program is on PATH.</summary>
    public static bool Exists(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, program)));

    private static async Task PumpAsync(StreamReader reader, StringBuilder into)
    {
        var buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer)) > 0)
        {
            into.Append(buffer, 0, read);
        }
    }
}
