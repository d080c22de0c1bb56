using System.CommandLine;
using System.Net;
using Microsoft.Extensions.Logging;
using Stress.Client;
using Stress.Server;

namespace Stress.Cli;

/// <summary>
/// <c>Stress run</c>: the stress mix against <c>--url</c>, or against a server it starts in this process. Exit code 0
/// only if exchanges ran and none failed (nor, in-process, a server-side handler).
/// </summary>
internal static class RunCommand
{
    /// <summary>What <c>--url</c> defaults to: no URL, a server in this process.</summary>
    private const string InProcess = "in-process";

    /// <summary>What <c>--ops</c> defaults to: the whole mix.</summary>
    private const string AllOperations = "all";

    public static Command Create()
    {
        var url = new Option<string>("--url")
        {
            Description = $"The server, http://127.0.0.1:PORT; {InProcess} starts one in this process on --transport.",
            DefaultValueFactory = _ => InProcess,
        };
        url.Validators.Add(result =>
        {
            string value = result.GetValueOrDefault<string>();
            if (value != InProcess && TryParseUrl(value) is null)
            {
                result.AddError($"--url must be http://ADDRESS:PORT (an IP address) or {InProcess}, not '{value}'.");
            }
        });
        var transport = StressOptions.Transport("The in-process server's transport (without --url).");
        var clients = StressOptions.Int("--clients", 16, "Concurrent clients, each one exchange at a time.");
        clients.Validators.Add(result => StressOptions.AtLeast(result, clients, 1, inclusive: true));
        var duration = StressOptions.Seconds("--duration", 60, "Seconds the clients start new exchanges; the run then waits for the ones in flight.");
        var operationTimeout = StressOptions.Seconds("--op-timeout", 30, "Seconds one exchange may take; one not done by then is counted as hung.");
        var maxSize = new Option<long>("--max-size")
        {
            Description = "The largest upload or download body, in bytes.",
            HelpName = "bytes",
            DefaultValueFactory = _ => 8 * 1024 * 1024,
        };
        maxSize.Validators.Add(result => StressOptions.AtLeast(result, maxSize, 0, inclusive: true));
        var seed = StressOptions.Int("--seed", 0, "Seeds the clients' random choices (and the run id in nonces); 0 picks one, printed in the summary.");
        var ops = new Option<string>("--ops")
        {
            Description = $"The exchanges to draw from, comma-separated ({string.Join(",", Enum.GetNames<OperationKind>())}), in their default proportions; {AllOperations} is the whole mix.",
            DefaultValueFactory = _ => AllOperations,
        };
        ops.Validators.Add(result =>
        {
            string value = result.GetValueOrDefault<string>();
            if (value != AllOperations && value.Split(',').FirstOrDefault(o => !Enum.TryParse<OperationKind>(o, ignoreCase: true, out _)) is { } wrong)
            {
                result.AddError($"--ops: '{wrong}' is not an exchange; the exchanges are {string.Join(", ", Enum.GetNames<OperationKind>())}.");
            }
        });

        var command = new Command("run", "Runs the stress mix and prints a summary; exit code 0 only if exchanges ran and none failed.")
        {
            url, transport, clients, duration, operationTimeout, maxSize, seed, ops,
        };
        command.SetAction(result =>
        {
            string mix = result.GetRequiredValue(ops);
            string target = result.GetRequiredValue(url);
            return RunAsync(new StressRunOptions
            {
                EndPoint = target == InProcess ? null : TryParseUrl(target),
                Transport = result.GetRequiredValue(transport),
                Clients = result.GetValue(clients),
                Duration = TimeSpan.FromSeconds(result.GetValue(duration)),
                OperationTimeout = TimeSpan.FromSeconds(result.GetValue(operationTimeout)),
                MaxBodySize = result.GetValue(maxSize),
                Seed = result.GetValue(seed),
                Mix = mix == AllOperations ? OperationMix.Default : OperationMix.Only(mix.Split(',').Select(o => Enum.Parse<OperationKind>(o, ignoreCase: true))),
            });
        });
        return command;
    }

    private static async Task<int> RunAsync(StressRunOptions options)
    {
        StressServer? server = null;
        if (options.EndPoint is null)
        {
            server = await StressServer.StartAsync(new ServeOptions { Transport = options.Transport }, LogLevel.Warning);
            options.EndPoint = server.EndPoint;
            Console.WriteLine($"stress: serving in-process on http://{server.EndPoint} ({options.Transport})");
        }
        try
        {
            var runner = new StressRunner(options, options.EndPoint);
            int exitCode = await runner.RunAndReportAsync(Console.Out);
            if (server is not null)
            {
                await server.StopAsync();
                long errors = server.Endpoints.UnexpectedErrors;
                Console.WriteLine($"stress: server-side unexpected handler errors: {errors}");
                exitCode = errors == 0 ? exitCode : 1;
            }
            return exitCode;
        }
        finally
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }
        }
    }

    /// <summary>The end point of <c>http://ADDRESS:PORT</c>; null when it is not one.</summary>
    private static IPEndPoint? TryParseUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttp && IPAddress.TryParse(uri.Host, out var address)
            ? new IPEndPoint(address, uri.Port)
            : null;
}
