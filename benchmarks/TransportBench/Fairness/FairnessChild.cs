using System.Globalization;
using System.Text.Json;

namespace TransportBench.Fairness;

/// <summary>
/// The fairness clients in a process of their own, so they run pinned to the load CPUs as wrk does (the runner itself
/// is not pinned): <c>TransportBench --fairness-child PORT FLOOD_PATH SMALL_PATH SECONDS</c>. Prints one
/// <see cref="FairnessResult"/> line.
/// </summary>
internal static class FairnessChild
{
    public const string Flag = "--fairness-child";

    public static int Run(IReadOnlyList<string> args)
    {
        FairnessResult result = FairnessClient.Run(
            int.Parse(args[0], CultureInfo.InvariantCulture),
            args[1],
            args[2],
            TimeSpan.FromSeconds(double.Parse(args[3], CultureInfo.InvariantCulture)));
        Console.WriteLine(FairnessResult.Prefix + JsonSerializer.Serialize(result));
        return 0;
    }
}
