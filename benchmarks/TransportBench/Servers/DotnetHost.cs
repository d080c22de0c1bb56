namespace TransportBench.Servers;

/// <summary>Finds the <c>dotnet</c> host and the repository, and publishes the Release SampleWeb once for every server.</summary>
internal static class DotnetHost
{
    /// <summary>The dotnet executable: this process when it is dotnet, the SDK's DOTNET_HOST_PATH, or PATH.</summary>
    public static string Path => Environment.ProcessPath is { } self && System.IO.Path.GetFileNameWithoutExtension(self) == "dotnet" ? self
        : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath ? hostPath : "dotnet";

    /// <summary>The folder holding KestrelEpollTransport.sln, searched up from the working directory and the binary.</summary>
    public static string? RepositoryRoot() => new[] { Environment.CurrentDirectory, AppContext.BaseDirectory }
        .SelectMany(start => Ancestors(new DirectoryInfo(start)))
        .FirstOrDefault(dir => File.Exists(System.IO.Path.Combine(dir, "KestrelEpollTransport.sln")));

    private static IEnumerable<string> Ancestors(DirectoryInfo? dir) => dir is null ? [] : [dir.FullName, .. Ancestors(dir.Parent)];

    private static readonly TimeSpan PublishLimit = TimeSpan.FromMinutes(5);

    /// <summary>Returns the folder holding SampleWeb.dll.</summary>
    /// <exception cref="InvalidOperationException">The build failed; the message holds the compiler's last lines.</exception>
    public static async Task<string> PublishSampleWebAsync(CancellationToken cancellationToken)
    {
        string root = RepositoryRoot()
            ?? throw new InvalidOperationException("Cannot find KestrelEpollTransport.sln above the working directory: run from the repository, or pass --sample DIR.");
        string project = System.IO.Path.Combine(root, "src", "SampleWeb", "SampleWeb.csproj");
        string output = System.IO.Path.Combine(root, "artifacts", "bench", "SampleWeb");
        ToolResult result = await ChildProcesses.RunAsync(
            Path, ["publish", project, "-c", "Release", "-o", output, "--nologo", "-v", "quiet"], PublishLimit, cancellationToken, root);
        if (result.ExitCode != 0 || !File.Exists(System.IO.Path.Combine(output, "SampleWeb.dll")))
        {
            string errors = string.Join('\n', (result.Stdout + "\n" + result.Stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Where(line => line.Contains("error", StringComparison.OrdinalIgnoreCase)).Distinct().Take(15));
            throw new InvalidOperationException(
                $"dotnet publish of SampleWeb failed (exit {result.ExitCode}); no server can run without it.\n" +
                $"{(errors.Length > 0 ? errors : result.Tail())}\n" +
                "Fix the build, or pass --sample DIR with an already published SampleWeb.");
        }
        return output;
    }
}
