# Infection curve of a crash: fraction of live nodes that report the victim
# failed, against protocol periods since the crash, one curve per N.
#   gnuplot -e "out='x.svg'; files='a.dat b.dat'; labels='100 1000'" bench/plot_infection.gp
set terminal svg size 800,500 dynamic enhanced font 'sans,12'
set output out
set title 'libgossip: crash dissemination (heartbeat 1000 ms)'
set xlabel 'protocol periods since the crash'
set ylabel 'fraction of live nodes that report it failed'
set yrange [0:1.05]
set key left top
set grid
plot for [i=1:words(files)] word(files, i) using 1:2 with steps lw 2 title 'N='.word(labels, i)
