using System.Diagnostics;

namespace KestrelEpollTransport.Testing;

/// <summary>
/// Runs a command-line tool (curl, h2load, nghttp, dotnet pack) to the end, bounded: a tool still running at the
/// bound is killed with its children and the test fails, instead of the run hanging.
/// </summary>
public static class ExternalTool
{
    /// <summary>
    /// The full path of <paramref name="name"/> on PATH. Fails the test when it is missing: scripts/install-test-deps.sh
    /// installs every tool the suite runs, so a missing one is a broken set-up, not a reason to skip.
    /// </summary>
    public static string Require(string name, string debianPackage)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        Assert.Fail($"'{name}' is not on PATH; scripts/install-test-deps.sh installs it (Debian package {debianPackage}). Run it, or `apt-get install {debianPackage}`.");
        return null!;
    }

    /// <summary>Runs <paramref name="fileName"/> with <paramref name="arguments"/> and waits for it to exit, at most <paramref name="timeout"/>.</summary>
    /// <param name="fileName">The program.</param>
    /// <param name="arguments">Its arguments, each passed as is (no shell).</param>
    /// <param name="timeout">The bound; reaching it fails the test after killing the tool.</param>
    /// <param name="workingDirectory">Where it runs; null for the current directory.</param>
    /// <param name="environment">Variables set for it, on top of this process's; a null value removes one.</param>
    public static async Task<ToolResult> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout,
        string? workingDirectory = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo(fileName, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(key);
            }
            else
            {
                start.Environment[key] = value;
            }
        }
        var stopwatch = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start.");
        process.StandardInput.Close();
        var stdout = new MemoryStream();
        var stdoutCopy = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderrRead = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
            await Task.WhenAll(stdoutCopy, stderrRead).WaitAsync(Timeouts.Default);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{Path.GetFileName(fileName)} {string.Join(' ', arguments)} did not end within {timeout.TotalSeconds:0} s; killed.");
        }
        return new ToolResult(process.ExitCode, stdout.ToArray(), await stderrRead, stopwatch.Elapsed);
    }
}
