// The icons the viewer uses, in one place so their look stays consistent.
export {
  Activity, Bell, BellOff, ClipboardPaste, Download, EllipsisVertical, FolderOpen, Hand, Keyboard, KeyRound, LogOut, Maximize,
  MessageSquare, Mic, MicOff, Minimize, PanelRight, PictureInPicture2, Radio, RefreshCw, Settings, ShieldCheck, Smile, Trash2,
  Upload, UserPlus, Users, Volume2, VolumeX, X,
} from 'lucide-preact';
