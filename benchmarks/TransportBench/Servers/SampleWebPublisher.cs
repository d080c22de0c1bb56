namespace TransportBench.Servers;

/// <summary>
/// Publishes the Release SampleWeb once into artifacts/bench/SampleWeb, so every server runs the same binary and no
/// server pays for a build or the SDK's `dotnet run` wrapper process.
/// </summary>
internal static class SampleWebPublisher
{
    private static readonly TimeSpan PublishLimit = TimeSpan.FromMinutes(5);

    /// <summary>Returns the folder holding SampleWeb.dll.</summary>
    /// <exception cref="InvalidOperationException">The build failed; the message holds the compiler's last lines.</exception>
    public static async Task<string> PublishAsync(CancellationToken cancellationToken)
    {
        string root = DotnetHost.RepositoryRoot()
            ?? throw new InvalidOperationException("Cannot find KestrelEpollTransport.sln above the working directory: run from the repository, or pass --sample DIR.");
        string project = Path.Combine(root, "src", "SampleWeb", "SampleWeb.csproj");
        string output = Path.Combine(root, "artifacts", "bench", "SampleWeb");
        ToolResult result = await ChildProcesses.RunAsync(
            DotnetHost.Path,
            ["publish", project, "-c", "Release", "-o", output, "--nologo", "-v", "quiet"],
            PublishLimit,
            cancellationToken,
            root);
        if (result.ExitCode != 0 || !File.Exists(Path.Combine(output, "SampleWeb.dll")))
        {
            string errors = string.Join('\n', (result.Stdout + "\n" + result.Stderr)
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Where(line => line.Contains("error", StringComparison.OrdinalIgnoreCase))
                .Distinct()
                .Take(15));
            throw new InvalidOperationException(
                $"dotnet publish of SampleWeb failed (exit {result.ExitCode}); no server can run without it.\n" +
                $"{(errors.Length > 0 ? errors : result.Tail())}\n" +
                "Fix the build, or pass --sample DIR with an already published SampleWeb.");
        }
        return output;
    }
}
