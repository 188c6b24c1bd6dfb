# Throughput of dict get / GET against the number of connections, from
# bench/run.sh's chart.dat (columns: conns procshare redis python).
# Usage: gnuplot -e "datafile='chart.dat'; outfile='throughput.png'" bench/chart.gp
set terminal png size 900,540
set output outfile
set title "get throughput against connections (no pipelining; median of rounds)"
set xlabel "connections"
set ylabel "operations per second"
set logscale x
set xtics (1, 2, 4, 8, 16, 32, 50, 100, 200, 500, 1000)
set format y "%.0f"
set key top left
set grid
set datafile missing "?"
plot datafile using 1:2 with linespoints lw 2 pt 7 title "procshare", \
     datafile using 1:3 with linespoints lw 2 pt 5 title "Redis", \
     datafile using 1:4 with linespoints lw 2 pt 9 title "Python manager"
