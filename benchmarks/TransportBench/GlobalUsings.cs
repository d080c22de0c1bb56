// What most of the runner's files use, and its own namespaces.
global using System.Diagnostics;
global using System.Globalization;
global using System.Net;
global using System.Net.Sockets;
global using System.Text;
global using System.Text.RegularExpressions;
global using TransportBench.Cli;
global using TransportBench.Load;
global using TransportBench.LoadHelper;
global using TransportBench.Measure;
global using TransportBench.Results;
global using TransportBench.Running;
global using TransportBench.Servers;
global using TransportBench.StatsHook;
