global using System.Runtime.InteropServices;
global using System.Diagnostics;
