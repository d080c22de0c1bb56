using System.Globalization;

namespace Stress.Cli;

/// <summary><c>--name value</c> pairs from the command line; a name not asked for by anyone is an error.</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public Arguments(IEnumerable<string> args)
    {
        string? name = null;
        foreach (string arg in args)
        {
            if (name is null)
            {
                if (!arg.StartsWith("--", StringComparison.Ordinal))
                {
                    throw new ArgumentException($"Expected --name, got '{arg}'.");
                }
                name = arg[2..];
            }
            else
            {
                _values[name] = arg;
                name = null;
            }
        }
        if (name is not null)
        {
            throw new ArgumentException($"--{name} needs a value.");
        }
    }

    public string String(string name, string fallback)
    {
        _read.Add(name);
        return _values.TryGetValue(name, out string? value) ? value : fallback;
    }

    public int Int(string name, int fallback) => (int)Long(name, fallback);

    public long Long(string name, long fallback)
    {
        _read.Add(name);
        if (!_values.TryGetValue(name, out string? value))
        {
            return fallback;
        }
        return long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long result)
            ? result
            : throw new ArgumentException($"--{name} must be an integer, not '{value}'.");
    }

    public double Double(string name, double fallback)
    {
        _read.Add(name);
        if (!_values.TryGetValue(name, out string? value))
        {
            return fallback;
        }
        return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double result)
            ? result
            : throw new ArgumentException($"--{name} must be a number, not '{value}'.");
    }

    /// <summary>Throws if an argument was given that no option reads (a typo would otherwise be ignored silently).</summary>
    public void ThrowIfUnknown()
    {
        var unknown = _values.Keys.Where(k => !_read.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"Unknown option(s): {string.Join(", ", unknown.Select(u => "--" + u))}.");
        }
    }
}
