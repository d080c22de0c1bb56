using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Stress.Cli;

/// <summary>
/// The kinds of option both commands have, each with its default (shown by --help) and its check (a wrong value is a
/// parse error: a message and exit code 2, before anything runs).
/// </summary>
internal static class StressOptions
{
    /// <summary>An integer option that defaults to <paramref name="defaultValue"/>.</summary>
    public static Option<int> Int(string name, int defaultValue, string description) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
    };

    /// <summary>A duration in seconds (fractions allowed), above 0.</summary>
    public static Option<double> Seconds(string name, double defaultValue, string description)
    {
        var option = new Option<double>(name)
        {
            Description = description,
            HelpName = "seconds",
            DefaultValueFactory = _ => defaultValue,
        };
        option.Validators.Add(result => AtLeast(result, option, 0, inclusive: false));
        return option;
    }

    /// <summary><c>--transport</c>: epoll (the default) or sockets.</summary>
    public static Option<string> Transport(string description)
    {
        var option = new Option<string>("--transport")
        {
            Description = description,
            DefaultValueFactory = _ => "epoll",
        };
        option.AcceptOnlyFromAmong("epoll", "sockets");
        return option;
    }

    /// <summary>Adds an error to <paramref name="result"/> when the value given is below <paramref name="minimum"/> (or at it, unless inclusive).</summary>
    public static void AtLeast(OptionResult result, Option option, double minimum, bool inclusive)
    {
        // No token: the default, which is valid. A token that is not a number: the parser reports it, in its words.
        if (result.Tokens.Count == 0 ||
            !double.TryParse(result.Tokens[^1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
        {
            return;
        }
        if (inclusive ? value < minimum : value <= minimum)
        {
            result.AddError($"{option.Name} must be {(inclusive ? "at least" : "above")} {minimum.ToString(CultureInfo.InvariantCulture)}, not {value.ToString(CultureInfo.InvariantCulture)}.");
        }
    }
}
