# The command list the test CD boots into (lodge-run runs it; see
# isolinux.cfg). It proves the guest found the CD on its own: the PIIX IDE
# driver, the ATAPI drive as sr0, ISO 9660 from it, and a file's contents.
dmesg | grep -E 'ata_piix|ATAPI|sr0' | sed 's/^/dmesg: /'
tries=600
while [ ! -b /dev/sr0 ] && [ $tries -gt 0 ]; do sleep 0.1; tries=$((tries - 1)); done
mount -t iso9660 -o ro /dev/sr0 /mnt || exit 1
echo "cd: $(cat /mnt/lodge/label)"
sha256sum /mnt/lodge/known.bin | sed 's/^/cd: /'
umount /mnt
